// The adversarial decode figure: how long the relay's decoder (`decodeClientMessage` of the
// built @hush/protocol) takes per byte on every frame of the hostile corpus, next to an ordinary
// SendMessage. A separate process started by bench/run.js; prints one JSON result on stdout.
// Every loop is bounded in time and in count.
//
//   node bench/decode/main.js '{"minMs": 20, "warmup": 50}'
import { decodeClientMessage } from '@hush/protocol';
import { hostileFrames, normalFrame } from '../../libs/protocol/dist/hostile-frames.js';

/**
 * @typedef {object} FrameResult
 * @property {string} name
 * @property {number} bytes
 * @property {number} usPerDecode
 * @property {number} usPerByte
 * @property {string} answer  the E005 reason, or "accepted"
 */

const settings = JSON.parse(process.argv[2] ?? '{}');
/** Time measured per frame, at least, over all rounds. */
const MIN_MS = Number(settings.minMs ?? 20);
/** Passes over the whole corpus before measuring, for the JIT. */
const WARMUP = Number(settings.warmup ?? 50);
/** Upper bound on decodes per frame, whatever the clock says. */
const MAX_DECODES = 1_000_000;

/** Rounds per frame; the fastest counts (the one least disturbed by other load). */
const ROUNDS = 5;

/**
 * @param {Uint8Array} bytes
 * @returns {number} µs per decode over one round of at least MIN_MS / ROUNDS
 */
function round(bytes) {
  // Decode in batches so that reading the clock costs little next to tiny frames.
  const batch = Math.max(1, Math.min(64, Math.floor(4096 / Math.max(1, bytes.length))));
  let decodes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i += 1) decodeClientMessage(bytes);
    decodes += batch;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS / ROUNDS && decodes < MAX_DECODES);
  return (elapsed * 1000) / decodes;
}

/**
 * @param {string} name
 * @param {Uint8Array} bytes
 * @returns {FrameResult}
 */
function measure(name, bytes) {
  const result = decodeClientMessage(bytes);
  const usPerDecode = Math.min(...Array.from({ length: ROUNDS }, () => round(bytes)));
  return {
    name,
    bytes: bytes.length,
    usPerDecode,
    usPerByte: usPerDecode / Math.max(1, bytes.length),
    answer: result.ok ? 'accepted' : result.error.reason,
  };
}

const corpus = hostileFrames();
const normalBytes = normalFrame();
// Warm every path (scan refusals, msgpackr, the validator) before measuring any of them.
for (let i = 0; i < WARMUP; i += 1) {
  decodeClientMessage(normalBytes);
  for (const frame of corpus) decodeClientMessage(frame.bytes);
}

const normal = measure('normal SendMessage', normalBytes);
const frames = corpus.map((frame) => measure(frame.name, frame.bytes));
// Below the size of a normal frame, the fixed cost of a call dominates any per-byte figure.
const comparable = frames.filter((frame) => frame.bytes >= normal.bytes);
const byPerByte = (/** @type {FrameResult} */ a, /** @type {FrameResult} */ b) =>
  b.usPerByte - a.usPerByte;
const worst = [...comparable].sort(byPerByte)[0];
const slowest = [...frames].sort((a, b) => b.usPerDecode - a.usPerDecode)[0];

process.stdout.write(
  `${JSON.stringify({ normal, worst, slowest, corpusFrames: frames.length, minBytes: normal.bytes, frames })}\n`,
);
