/** What the relay tells its page before any connection (`GET hush-config.json`). */
export interface RelayPageConfig {
  /** Where other devices reach this relay (`HUSH_PUBLIC_URL`), when configured. */
  publicUrl: string | undefined;
  limits: { nameMaxCodePoints?: number; maxExpirySeconds?: number };
}

/**
 * Reads the relay's page config. A static server without it (the page served by nginx alone)
 * answers 404: then the page's own address and the protocol's default limits apply.
 */
export async function readRelayConfig(url: string): Promise<RelayPageConfig | undefined> {
  try {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) return undefined;
    return parseRelayConfig(await response.json());
  } catch {
    return undefined;
  }
}

export function parseRelayConfig(value: unknown): RelayPageConfig | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const publicUrl =
    typeof record['publicUrl'] === 'string' && /^https?:\/\//.test(record['publicUrl'])
      ? record['publicUrl']
      : undefined;
  const limits =
    typeof record['limits'] === 'object' && record['limits'] !== null
      ? (record['limits'] as Record<string, unknown>)
      : {};
  const positive = (v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
  const nameMax = positive(limits['nameMaxCodePoints']);
  const maxExpiry = positive(limits['maxExpirySeconds']);
  return {
    publicUrl,
    limits: {
      ...(nameMax === undefined ? {} : { nameMaxCodePoints: nameMax }),
      ...(maxExpiry === undefined ? {} : { maxExpirySeconds: maxExpiry }),
    },
  };
}
