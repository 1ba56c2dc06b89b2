import type { Accessor } from 'solid-js';
import { createSignal, onCleanup } from 'solid-js';

/** The current time (unix ms), refreshed every `intervalMs`, for countdowns. */
export function useNow(intervalMs = 1_000): Accessor<number> {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), intervalMs);
  onCleanup(() => clearInterval(timer));
  return now;
}
