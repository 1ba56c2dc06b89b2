-- Records an incarnation's lease deadline in the registry, in the server's clock, so replicas
-- with skewed clocks agree on who is late.
--
-- KEYS[1] registry (zset: incarnation -> deadline, server ms)
-- ARGV[1] incarnation     ARGV[2] lease TTL (ms)
--
-- Returns the server time (ms).

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
