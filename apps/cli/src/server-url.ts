import { UsageError } from './errors.js';

/** Where the CLI connects when neither --server nor HUSH_SERVER says otherwise. */
export const DEFAULT_SERVER = 'ws://localhost:8080/ws';

/** The relay serves its WebSocket endpoint at this path. */
const WS_PATH = '/ws';

/**
 * Reads a relay address: a ws(s):// URL used as is, or an http(s):// URL turned into the matching
 * ws(s):// one. A URL without a path gets the relay's `/ws`.
 */
export function relayUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new UsageError(`Invalid server URL "${input}": expected ws://host:port/ws or wss://…`);
  }
  const scheme = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }[url.protocol];
  if (scheme === undefined) {
    throw new UsageError(
      `Invalid server URL "${input}": the scheme must be ws, wss, http or https.`,
    );
  }
  if (url.hash !== '') throw new UsageError('The server URL cannot have a #fragment.');
  const path = url.pathname === '/' || url.pathname === '' ? WS_PATH : url.pathname;
  return `${scheme}//${url.host}${path}${url.search}`;
}

/**
 * The web client's origin for join links, derived from the relay URL: `ws://h:p/ws` →
 * `http://h:p`, `wss://h/chat/ws` → `https://h/chat` (the relay serves the web client at the
 * path in front of `/ws`).
 */
export function webOrigin(serverUrl: string): string {
  const url = new URL(serverUrl);
  const scheme = url.protocol === 'wss:' ? 'https:' : 'http:';
  const base = url.pathname.endsWith(WS_PATH)
    ? url.pathname.slice(0, -WS_PATH.length)
    : url.pathname.replace(/\/[^/]*$/, '');
  return `${scheme}//${url.host}${base.replace(/\/+$/, '')}`;
}

/** Checks a --web value: an http(s) origin, optionally with a path; no query or fragment. */
export function parseWebOrigin(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new UsageError(`Invalid --web origin "${input}": expected e.g. https://chat.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid --web origin "${input}": it must be an http or https URL.`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new UsageError(`Invalid --web origin "${input}": no query, fragment or credentials.`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
