// Bounded concurrency for the load generator's setup work (connecting, seating).
import { nowMs } from './frames.js';

/**
 * Runs `task` over `items` with at most `concurrency` at once; stops starting new ones after
 * `deadline` (ms, nowMs clock). Resolves with the results in order; failures are kept as Errors.
 * @template T, R
 * @param {T[]} items
 * @param {number} concurrency
 * @param {number} deadline
 * @param {(item: T, index: number) => Promise<R>} task
 * @returns {Promise<(R | Error)[]>}
 */
export async function pool(items, concurrency, deadline, task) {
  /** @type {(R | Error)[]} */
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      if (nowMs() > deadline) {
        results[index] = new Error('setup deadline passed');
        continue;
      }
      try {
        results[index] = await task(/** @type {T} */ (items[index]), index);
      } catch (error) {
        results[index] = error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * The first error in `results`, thrown; otherwise the results as values.
 * @template R
 * @param {(R | Error)[]} results
 * @param {string} what
 * @returns {R[]}
 */
export function allOrThrow(results, what) {
  const failed = results.filter((r) => r instanceof Error);
  if (failed.length > 0) {
    throw new Error(`${failed.length}/${results.length} ${what} failed: ${failed[0]?.message}`);
  }
  return /** @type {R[]} */ (results);
}

/**
 * Closes every client with a closing handshake, 500 at a time (bounded to 20 s), then drops
 * whatever is still open.
 * @param {{ close(): Promise<void>, terminate(): void }[]} clients
 */
export async function closeAll(clients) {
  const deadline = nowMs() + 20_000;
  await pool(clients, 500, deadline, (client) => client.close());
  for (const client of clients) client.terminate();
}
