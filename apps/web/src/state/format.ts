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

/** When a room closes, for people: "never", "in 23 h", "in 5 min". */
export function expiryText(expiresAt: number, nowMs: number): string {
  if (expiresAt === 0) return 'never';
  const seconds = Math.max(0, Math.round(expiresAt - nowMs / 1000));
  if (seconds < 90) return `in ${seconds} s`;
  if (seconds < 90 * 60) return `in ${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `in ${Math.round(seconds / 3600)} h`;
  return `in ${Math.round(seconds / 86_400)} days`;
}
