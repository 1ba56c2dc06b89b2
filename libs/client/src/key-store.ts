import type { VerifyingKey } from '@hush/crypto';
import { signingKeyFingerprint, verifyPayload } from '@hush/crypto';
import { nameKey } from '@hush/protocol';
import type { Verification } from './events.js';

/** Signed messages kept per sender while its key is unknown; older ones stay `unknown-signer`. */
export const MAX_DEFERRED_PER_SENDER = 20;

/** A member's key as first seen in this room. */
export interface KnownKey {
  key: VerifyingKey;
  fingerprint: string;
}

/** What happened when a member announced a key. */
export type KeyUpdate =
  | { kind: 'learned'; fingerprint: string }
  | { kind: 'same' }
  | { kind: 'changed'; fingerprint: string; previousFingerprint: string };

interface Deferred {
  ref: number;
  json: Record<string, unknown>;
}

/**
 * Trust on first use, per room: the first key announced under a nickname is that member's key.
 * Nicknames are unique within a room and survive reconnects (member ids do not), so a key that
 * later arrives under the same name is a key change, worth a warning: another client, or someone
 * else under that name. Messages signed by a name whose key is unknown wait here for it.
 */
export class KeyStore {
  private readonly keys = new Map<string, KnownKey>();
  private readonly deferred = new Map<string, Deferred[]>();

  /** The key trusted for a nickname. */
  get(name: string): KnownKey | undefined {
    return this.keys.get(nameKey(name));
  }

  /** Records a (self-verified) announced key under `name`; the newest key wins. */
  async announce(name: string, key: VerifyingKey): Promise<KeyUpdate> {
    const fingerprint = await signingKeyFingerprint(key.raw);
    const slot = nameKey(name);
    const previous = this.keys.get(slot);
    this.keys.set(slot, { key, fingerprint });
    if (previous === undefined) return { kind: 'learned', fingerprint };
    if (previous.fingerprint === fingerprint) return { kind: 'same' };
    return { kind: 'changed', fingerprint, previousFingerprint: previous.fingerprint };
  }

  /**
   * The verification state of a payload from `name`. A signed payload from a name without a key
   * is remembered (when `ref` is given) and verified by {@link settle} once the key arrives.
   */
  async verify(
    name: string,
    json: Record<string, unknown> | undefined,
    ref?: number,
  ): Promise<Verification> {
    if (json === undefined || typeof json['sig'] !== 'string') return 'unsigned';
    const known = this.get(name);
    if (known !== undefined) return (await verifyPayload(json, known.key)) ? 'verified' : 'invalid';
    if (ref !== undefined) {
      const slot = nameKey(name);
      const waiting = this.deferred.get(slot) ?? [];
      waiting.push({ ref, json });
      this.deferred.set(slot, waiting.slice(-MAX_DEFERRED_PER_SENDER));
    }
    return 'unknown-signer';
  }

  /** Verifies what waited for `name`'s key, now that it is known. */
  async settle(name: string): Promise<{ ref: number; verification: Verification }[]> {
    const slot = nameKey(name);
    const known = this.keys.get(slot);
    const waiting = this.deferred.get(slot);
    if (known === undefined || waiting === undefined) return [];
    this.deferred.delete(slot);
    const results: { ref: number; verification: Verification }[] = [];
    for (const { ref, json } of waiting) {
      results.push({
        ref,
        verification: (await verifyPayload(json, known.key)) ? 'verified' : 'invalid',
      });
    }
    return results;
  }

  /** Gives up waiting for `name`'s key: what waited stays `unknown-signer`. */
  expire(name: string): void {
    this.deferred.delete(nameKey(name));
  }

  clear(): void {
    this.keys.clear();
    this.deferred.clear();
  }
}
