-- Lists incarnations whose lease deadline has passed, in the server's clock.
--
-- KEYS[1] registry (zset: incarnation -> deadline, server ms)
-- ARGV[1] most incarnations returned
--
-- Returns the incarnations.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
