// Pre-encoded frames of the load generator. Every chat message is the same bytes except for the
// send time (and, in numbered frames, the frame's number), written in place just before the
// send, behind a marker the receiver finds with one native `indexOf` instead of decoding the frame.
import { ClientType, encode } from '@hush/protocol';
import { randomFillSync } from 'node:crypto';

/** Four bytes no msgpack header, member id or nickname of ours contains (all above 0x7f). */
export const MARKER = Buffer.from([0xf7, 0xb1, 0xe5, 0x9c]);

/** Bytes of the AES-GCM IV and ciphertext of each chat message (a short line of chat). */
export const IV_BYTES = 12;
export const CIPHERTEXT_BYTES = 128;

/** Wall-clock milliseconds with sub-millisecond resolution; comparable across processes. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

/**
 * A SendMessage frame whose ciphertext starts with the marker, and the offset just behind it.
 */
function markedFrame() {
  const ciphertext = randomFillSync(Buffer.alloc(CIPHERTEXT_BYTES));
  MARKER.copy(ciphertext, 0);
  const frame = Buffer.from(
    encode({
      type: ClientType.SendMessage,
      data: { iv: randomFillSync(new Uint8Array(IV_BYTES)), ciphertext },
    }),
  );
  return { frame, offset: frame.indexOf(MARKER) + MARKER.length };
}

/**
 * A SendMessage frame whose ciphertext starts with the marker and a float64 send time.
 * `stamp()` writes the current time into it and returns the same buffer, ready to send (ws copies
 * client frames while masking them, so reusing the buffer is safe).
 */
export function chatFrame() {
  const { frame, offset } = markedFrame();
  return {
    bytes: frame,
    stamp() {
      frame.writeDoubleLE(nowMs(), offset);
      return frame;
    },
  };
}

/**
 * A Typing frame with the plain flag, as the Hush clients send it when a member starts or stops
 * typing.
 * @param {boolean} typing
 */
export function typingFrame(typing) {
  return encode({ type: ClientType.Typing, data: { typing } });
}

/**
 * A chat frame that also carries a number behind the send time (uint32), so receivers can say
 * exactly which frames they got. `stamp(id)` writes the time and the number and returns the
 * same buffer.
 */
export function numberedChatFrame() {
  const { frame, offset } = markedFrame();
  return {
    /** @param {number} id */
    stamp(id) {
      frame.writeDoubleLE(nowMs(), offset);
      frame.writeUInt32LE(id, offset + 8);
      return frame;
    },
  };
}

/**
 * The number of a delivered numbered chat frame, or undefined when the frame carries none.
 * @param {Buffer} frame
 */
export function frameNumber(frame) {
  const at = frame.indexOf(MARKER);
  return at < 0 || at + MARKER.length + 12 > frame.length
    ? undefined
    : frame.readUInt32LE(at + MARKER.length + 8);
}

/**
 * Send time of a delivered chat message, or undefined when the frame carries none.
 * @param {Buffer} frame
 */
export function sentAt(frame) {
  const at = frame.indexOf(MARKER);
  return at < 0 ? undefined : frame.readDoubleLE(at + MARKER.length);
}

/**
 * A member's nickname: the prefix and the index in decimal. Nicknames must differ by their UTS #39
 * skeleton, where digits and letters can collide (`m1` and `ml`, `m0` and `mo`); digits alone map
 * one to one.
 * @param {string} prefix
 * @param {number} index
 */
export function memberName(prefix, index) {
  return `${prefix}${index}`;
}
