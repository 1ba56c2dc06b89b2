const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** "14:05" in the user's locale. */
export function formatClock(unixMs: number): string {
  return clock.format(new Date(unixMs));
}

/** ISO time for `<time datetime>`. */
export function isoTime(unixMs: number): string {
  return new Date(unixMs).toISOString();
}

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…". */
export function typingText(names: readonly string[]): string {
  const [first, second, third] = names;
  if (first === undefined) return '';
  if (second === undefined) return `${first} is typing…`;
  if (third === undefined) return `${first} and ${second} are typing…`;
  const others = names.length - 2;
  return `${first}, ${second} and ${others} ${others === 1 ? 'other' : 'others'} are typing…`;
}

/** A room's remaining life is shown to the second within this last stretch. */
export const LAST_HOUR_SECONDS = 3_600;

/**
 * When a room closes, for people: "never", "expired", "in 12:05" (minutes and seconds, within
 * the last hour), "in 5 h", "in 3 days". `expiresAt` is unix seconds, `nowMs` unix ms.
 */
export function expiryText(expiresAt: number, nowMs: number): string {
  if (expiresAt === 0) return 'never';
  const seconds = Math.ceil(expiresAt - nowMs / 1000);
  if (seconds <= 0) return 'expired';
  if (seconds <= LAST_HOUR_SECONDS) return `in ${clockDuration(seconds)}`;
  if (seconds < 48 * 3600) return `in ${Math.round(seconds / 3600)} h`;
  return `in ${Math.round(seconds / 86_400)} days`;
}

/** "0:09", "4:59", "59:59": a countdown in minutes and seconds. */
export function clockDuration(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** "1.2 MB", "340 KB", "12 bytes". */
export function byteSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
