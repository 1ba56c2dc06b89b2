-- Keeps a hosted room's keys alive.
--
-- KEYS[1] room meta       KEYS[2] room members       KEYS[3] room names
-- ARGV[1] key TTL (ms)
--
-- Returns 1.

for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
