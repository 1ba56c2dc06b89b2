import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis.backends.js';

/**
 * Lua scripts of the Redis presence store, one file per script in `./lua/` (each file's header
 * names its KEYS and ARGV). Each touches the keys of one hash tag only (one room, one replica, or
 * the registry), so every script runs unchanged on Redis Cluster. The files are read once, when
 * this module loads; the build copies them next to the compiled module
 * (`scripts/copy-relay-assets.js`).
 */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string): Script {
  const lua = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const CREATE_ROOM = script('create-room');
export const JOIN_ROOM = script('join-room');
export const REMOVE_MEMBERS = script('remove-members');
export const ASSERT_ROOM = script('assert-room');
export const TOUCH_ROOM = script('touch-room');
export const RENEW_LEASE = script('renew-lease');
export const REGISTER_REPLICA = script('register-replica');
export const EXPIRED_REPLICAS = script('expired-replicas');

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
