-- Removes members and their nicknames; the room goes with its last member.
--
-- KEYS[1] room meta       KEYS[2] room members       KEYS[3] room names
-- ARGV[1] owner: remove only members owned by this incarnation ("" = whoever owns them)
-- ARGV[2] how long an expired room's id is remembered (ms)
-- ARGV[3..] member ids
--
-- An expired room leaves its expiry behind for ARGV[2] ms, so a late joiner hears E007 (expired)
-- rather than E001 (not found). Returns the ids removed.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local removed = {}
for i = 3, #ARGV do
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  if record then
    local member = cjson.decode(record)
    if ARGV[1] == '' or member.owner == ARGV[1] then
      redis.call('HDEL', KEYS[2], ARGV[i])
      if redis.call('HGET', KEYS[3], member.key) == ARGV[i] then
        redis.call('HDEL', KEYS[3], member.key)
      end
      removed[#removed + 1] = ARGV[i]
    end
  end
end
if redis.call('HLEN', KEYS[2]) == 0 then
  local expiresAt = tonumber(redis.call('HGET', KEYS[1], 'expiresAt') or '0')
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('DEL', KEYS[1])
  -- Timers may fire a little early: a room emptied within seconds of its expiry has expired.
  if expiresAt ~= 0 and expiresAt * 1000 <= now + 2000 then
    redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
end
return removed
