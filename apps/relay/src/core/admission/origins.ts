/**
 * Whether a WebSocket request's `Origin` passes the allowlist. Browsers always send an origin,
 * which the allowlist compares in its normalised form; entries that are not URLs are exact
 * tokens (the Arthas Go CLI sends `Origin: arthas-cli`). A request without an origin (terminal
 * clients, which could forge any) is not refused; an empty list or `*` allows every origin.
 */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (origin === undefined || allowed.length === 0 || allowed.includes('*')) return true;
  return allowed.includes(origin) || allowed.includes(normalizeOrigin(origin));
}

/** A URL origin as browsers send it (lowercase, no default port); other tokens as they are. */
export function normalizeOrigin(value: string): string {
  if (!/^https?:\/\//i.test(value)) return value;
  try {
    return new URL(value).origin;
  } catch {
    return value;
  }
}
