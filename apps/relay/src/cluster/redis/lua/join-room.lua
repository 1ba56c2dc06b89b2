-- Admits a member to an existing room: expiry, password, capacity, then unique nickname.
--
-- KEYS[1] room meta          KEYS[2] room members       KEYS[3] room names
-- ARGV[1] now (unix s)       ARGV[2] max members
-- ARGV[3] password check value the caller verified the joiner's password against
-- ARGV[4] member id          ARGV[5] member record (JSON)
-- ARGV[6] name key           ARGV[7] key TTL (ms)
--
-- Returns {'OK', id1, record1, ...} with every member, the new one included, or {code} with the
-- admission error code (E001, E007, E006, E002, E020). A member joining a room that a replica
-- wrote back after Redis lost it (meta `restored`) is marked `fresh`: the members still to be
-- written back are announced to it.

local meta = redis.call('HMGET', KEYS[1], 'expiresAt', 'check', 'restored')
if not meta[1] then return {'E001'} end
local expiresAt = tonumber(meta[1])
if expiresAt ~= 0 and expiresAt <= tonumber(ARGV[1]) then return {'E007'} end
-- Not the room whose check value the caller verified (it was replaced meanwhile).
if meta[2] ~= ARGV[3] then return {'E006'} end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[2]) then return {'E002'} end
if redis.call('HEXISTS', KEYS[3], ARGV[6]) == 1 then return {'E020'} end
local record = ARGV[5]
if meta[3] then
  local fields = cjson.decode(record)
  fields.fresh = true
  record = cjson.encode(fields)
end
redis.call('HSET', KEYS[2], ARGV[4], record)
redis.call('HSET', KEYS[3], ARGV[6], ARGV[4])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
local reply = redis.call('HGETALL', KEYS[2])
table.insert(reply, 1, 'OK')
return reply
