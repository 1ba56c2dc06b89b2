import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.backends.js';

/**
 * Lua scripts of the Redis presence store. Each touches the keys of one hash tag only (one room,
 * one replica, or the registry), so every script runs unchanged on Redis Cluster.
 */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, lua: string): Script {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** How long the id of an expired room is remembered, to answer E007 instead of E001. */
export const EXPIRED_ROOM_MEMORY_MS = 3_600_000;

/** Server time in milliseconds, from inside a script. */
const SERVER_NOW_MS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * KEYS: meta, members, names. ARGV: ephemeral, expiresAt, salt, check, memberId, record, nameKey,
 * ttlMs. Returns 1, or 0 when a room with that id exists.
 */
export const CREATE_ROOM = script(
  'create-room',
  `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'ephemeral', ARGV[1], 'expiresAt', ARGV[2], 'salt', ARGV[3], 'check', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[7], ARGV[5])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return 1
`,
);

/**
 * KEYS: meta, members, names. ARGV: nowSeconds, maxMembers, check (as verified by the caller),
 * memberId, record, nameKey, ttlMs. Returns {'OK', id1, record1, ...} with every member, or
 * {code} with the admission error code. A member joining a room that a replica wrote back after
 * Redis lost it is marked `fresh`: members still to be written back are announced to it.
 */
export const JOIN_ROOM = script(
  'join-room',
  `
local meta = redis.call('HMGET', KEYS[1], 'expiresAt', 'check', 'restored')
if not meta[1] then return {'E001'} end
local expiresAt = tonumber(meta[1])
if expiresAt ~= 0 and expiresAt <= tonumber(ARGV[1]) then return {'E007'} end
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
`,
);

/**
 * KEYS: meta, members, names. ARGV: owner ("" = any), memberId... Removes the members (only
 * those owned by `owner` when given) and their names; deletes the room with its last member.
 * An expired room leaves its expiry behind for EXPIRED_ROOM_MEMORY_MS, so a late joiner hears
 * E007 rather than E001. Returns the ids removed.
 */
export const REMOVE_MEMBERS = script(
  'remove-members',
  `${SERVER_NOW_MS}
local removed = {}
for i = 2, #ARGV do
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
  -- Timers may fire a little early: a room emptied within seconds of its expiry has expired.
  if expiresAt ~= 0 and expiresAt * 1000 <= now + 2000 then
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
    redis.call('PEXPIRE', KEYS[1], ${EXPIRED_ROOM_MEMORY_MS})
  else
    redis.call('DEL', KEYS[1])
  end
end
return removed
`,
);

/**
 * Registers again what a replica hosts after Redis lost it (restart, FLUSHALL) or a survivor
 * evicted it (lease loss, replica pause). A member still registered keeps its seat; a missing one
 * goes through the admission rules of a join (expiry, unique nickname, capacity), because while it
 * was missing someone else may have joined: the claimant that arrives later loses. The room's
 * settings are written back when its metadata is gone, marked `restored`.
 * KEYS: meta, members, names. ARGV: nowSeconds, maxMembers, ephemeral, expiresAt, salt, check,
 * ttlMs, then (memberId, record, nameKey) triples in join order. Returns
 * {{memberId, status, ...}, {freshId, ...}}: status is `kept`, `added`, or the refusal code (E002
 * room full, E007 expired, E020 name taken); the fresh ids are the members who joined since the
 * room was restored (JOIN_ROOM), who never heard of the members added here.
 */
export const ASSERT_ROOM = script(
  'assert-room',
  `
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
`,
);

/** KEYS: meta, members, names. ARGV: ttlMs. Keeps a hosted room's keys alive. */
export const TOUCH_ROOM = script(
  'touch-room',
  `
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
`,
);

/**
 * KEYS: lease, replica members index, reaped marker. ARGV: leaseTtlMs, indexTtlMs, value.
 * Returns -1 when a survivor has claimed this incarnation's cleanup (the lease is not renewed),
 * 1 when the lease was renewed, 0 when it had to be taken afresh (expired, or Redis lost it).
 */
export const RENEW_LEASE = script(
  'renew-lease',
  `
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local previous = redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[1], 'GET')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if previous then return 1 end
return 0
`,
);

/**
 * KEYS: registry. ARGV: incarnation, leaseTtlMs. Records the lease deadline in the server's
 * clock, so replicas with skewed clocks agree on who is late.
 */
export const REGISTER_REPLICA = script(
  'register-replica',
  `${SERVER_NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
`,
);

/** KEYS: registry. ARGV: limit. Incarnations whose lease deadline has passed. */
export const EXPIRED_REPLICAS = script(
  'expired-replicas',
  `${SERVER_NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`,
);

/** EVALSHA, falling back to EVAL when the server does not know the script (e.g. after a restart). */
export async function runScript(
  client: RedisClient,
  { lua, sha }: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(lua, keys.length, ...keys, ...args);
  }
}
