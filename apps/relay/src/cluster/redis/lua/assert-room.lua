-- Registers again what a replica hosts after Redis lost it (restart, FLUSHALL) or a survivor
-- evicted it (lease loss, replica pause). A member still registered keeps its seat; a missing one
-- goes through the admission rules of a join (expiry, unique nickname, capacity), because while
-- it was missing someone else may have joined: the claimant that arrives later loses. The room's
-- settings are written back when its metadata is gone, marked `restored`.
--
-- KEYS[1] room meta        KEYS[2] room members       KEYS[3] room names
-- ARGV[1] now (unix s)     ARGV[2] max members
-- ARGV[3] ephemeral (s)    ARGV[4] expiresAt (unix s, 0 = never)
-- ARGV[5] salt ("")        ARGV[6] password check value ("" = no password)
-- ARGV[7] key TTL (ms)
-- ARGV[8..] (member id, member record JSON, name key) triples, in join order
--
-- Returns {{memberId, status, ...}, {freshId, ...}}: status is `kept`, `added`, or the refusal
-- code (E002 room full, E007 expired, E020 name taken); the fresh ids are the members who joined
-- since the room was restored (join-room.lua), who never heard of the members added here.

local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or ARGV[4])
local expired = expiresAt ~= 0 and expiresAt <= tonumber(ARGV[1])
if not expired and redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'ephemeral', ARGV[3], 'expiresAt', ARGV[4], 'salt', ARGV[5], 'check', ARGV[6], 'restored', 1)
end
local maxMembers = tonumber(ARGV[2])
local result = {}
for i = 8, #ARGV, 3 do
  local id, record, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local holder = redis.call('HGET', KEYS[3], key)
  local status
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    status = 'kept'
  elseif expired then
    status = 'E007'
  elseif holder and holder ~= id then
    status = 'E020'
  elseif redis.call('HLEN', KEYS[2]) >= maxMembers then
    status = 'E002'
  else
    status = 'added'
  end
  if status == 'kept' then
    -- Still a member: the record changes owner (a new incarnation), and stays fresh if it was.
    if cjson.decode(redis.call('HGET', KEYS[2], id)).fresh then
      local fields = cjson.decode(record)
      fields.fresh = true
      record = cjson.encode(fields)
    end
  end
  if status == 'kept' or status == 'added' then
    redis.call('HSET', KEYS[2], id, record)
    if not holder then redis.call('HSET', KEYS[3], key, id) end
  end
  result[#result + 1] = id
  result[#result + 1] = status
end
if redis.call('HLEN', KEYS[2]) > 0 then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
end
local fresh = {}
if redis.call('HEXISTS', KEYS[1], 'restored') == 1 then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if cjson.decode(all[i + 1]).fresh then fresh[#fresh + 1] = all[i] end
  end
end
return {result, fresh}
