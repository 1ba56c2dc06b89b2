import type { Sealed, SealedInput } from './aead.js';
import { open, seal } from './aead.js';
import { HushCryptoError } from './errors.js';
import type { RoomKey } from './room-key.js';

/** Longest emoji (or short reaction text) accepted, in UTF-16 code units. */
export const MAX_REACTION_EMOJI_LENGTH = 32;

/**
 * A reaction in the Arthas format: `{stableId, emoji, action}`, where `stableId` is the target
 * message's `senderId:t`. Ours add `messageId`, the target's client message id when it had one,
 * and `sig` when signed; Arthas clients ignore both.
 */
export interface ReactionPayload {
  stableId: string;
  emoji: string;
  action: 'add' | 'remove';
  messageId?: string;
  sig?: string;
  [extra: string]: unknown;
}

/** Seals a reaction payload (UTF-8 JSON) into the Arthas wire form. */
export function sealReaction(key: RoomKey, reaction: ReactionPayload): Promise<Sealed> {
  checkReaction(reaction);
  return seal(key, new TextEncoder().encode(JSON.stringify(reaction)));
}

/** An opened reaction: the checked payload and the JSON object as parsed (what `sig` covers). */
export interface OpenedReaction {
  reaction: ReactionPayload;
  json: Record<string, unknown>;
}

/**
 * Opens a sealed reaction.
 *
 * @throws {HushCryptoError} `decrypt_failed` when it cannot be opened, `invalid_payload` when it is
 * not a reaction: a non-empty `stableId`, an `emoji` of 1 to {@link MAX_REACTION_EMOJI_LENGTH}
 * code units without control characters, and `action` `add` or `remove`.
 */
export async function openReaction(key: RoomKey, sealed: SealedInput): Promise<OpenedReaction> {
  const plaintext = await open(key, sealed);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (error) {
    throw new HushCryptoError('invalid_payload', 'a reaction must be JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HushCryptoError('invalid_payload', 'a reaction must be a JSON object');
  }
  const json = value as Record<string, unknown>;
  const reaction = { ...json } as ReactionPayload;
  checkReaction(reaction);
  for (const field of ['messageId', 'sig'] as const) {
    if (reaction[field] !== undefined && typeof reaction[field] !== 'string')
      delete reaction[field];
  }
  return { reaction, json };
}

const CONTROL = /\p{Cc}/u;

function checkReaction(reaction: ReactionPayload): void {
  const { stableId, emoji, action } = reaction as Partial<Record<string, unknown>>;
  if (typeof stableId !== 'string' || stableId === '') {
    throw new HushCryptoError('invalid_payload', 'a reaction needs the stableId of its message');
  }
  if (
    typeof emoji !== 'string' ||
    emoji === '' ||
    emoji.length > MAX_REACTION_EMOJI_LENGTH ||
    CONTROL.test(emoji)
  ) {
    throw new HushCryptoError(
      'invalid_payload',
      `a reaction emoji is 1 to ${MAX_REACTION_EMOJI_LENGTH} characters without control characters`,
    );
  }
  if (action !== 'add' && action !== 'remove') {
    throw new HushCryptoError('invalid_payload', 'a reaction action is "add" or "remove"');
  }
}
