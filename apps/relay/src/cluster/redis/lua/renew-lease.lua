-- Renews a replica incarnation's lease and the TTL of its member index.
--
-- KEYS[1] lease           KEYS[2] the incarnation's member index      KEYS[3] reaped marker
-- ARGV[1] lease TTL (ms)  ARGV[2] member index TTL (ms)               ARGV[3] lease value
--
-- Returns -1 when a survivor has claimed this incarnation's cleanup (the lease is not renewed),
-- 1 when the lease was renewed, 0 when it had to be taken afresh (expired, or Redis lost it).

if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local previous = redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[1], 'GET')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if previous then return 1 end
return 0
