import type { ShareCode } from '@hush/crypto';
import { JOIN_FRAGMENT_PREFIX, isHushCryptoError, parseJoinInput } from '@hush/crypto';

/** What the URL fragment asks for. */
export type Route =
  { kind: 'home' } | { kind: 'join'; code: ShareCode } | { kind: 'bad-link'; message: string };

/**
 * Reads `location.hash`: `#/join/<share code>` opens the join form for that room. The key is in
 * the fragment, which browsers never send to a server.
 */
export function routeFromHash(hash: string): Route {
  if (!hash.startsWith(JOIN_FRAGMENT_PREFIX.slice(0, -1))) return { kind: 'home' };
  try {
    return { kind: 'join', code: parseJoinInput(hash) };
  } catch (error) {
    // The library's messages name the broken part and never contain the key.
    return { kind: 'bad-link', message: isHushCryptoError(error) ? error.message : String(error) };
  }
}

/** Reads a pasted share code or join link; an error message for people when it is not one. */
export function readJoinInput(
  text: string,
): { ok: true; code: ShareCode } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: false, message: 'Paste a share code or a join link.' };
  try {
    return { ok: true, code: parseJoinInput(text) };
  } catch (error) {
    return {
      ok: false,
      message: isHushCryptoError(error)
        ? `Not a valid share code or link: ${error.message}`
        : String(error),
    };
  }
}
