-- Creates a room with its first member, unless a room with that id exists.
--
-- KEYS[1] room meta       KEYS[2] room members       KEYS[3] room names
-- ARGV[1] ephemeral (s)   ARGV[2] expiresAt (unix s, 0 = never)
-- ARGV[3] salt ("")       ARGV[4] password check value ("" = no password)
-- ARGV[5] member id       ARGV[6] member record (JSON)
-- ARGV[7] name key        ARGV[8] key TTL (ms)
--
-- Returns 1, or 0 when the id is taken.

if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ephemeral', ARGV[1], 'expiresAt', ARGV[2], 'salt', ARGV[3], 'check', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[7], ARGV[5])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return 1
