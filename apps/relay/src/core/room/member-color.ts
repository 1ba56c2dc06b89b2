import { createHash } from 'node:crypto';

/**
 * A member's colour: a CSS `#rrggbb` derived from the member id, so every replica and every
 * client agrees on it. Hue comes from the id's hash; saturation and lightness are fixed to stay
 * readable on both light and dark backgrounds.
 */
export function memberColor(memberId: string): string {
  const hash = createHash('sha256').update(memberId).digest();
  const hue = ((hash[0] ?? 0) * 256 + (hash[1] ?? 0)) % 360;
  return hslToHex(hue, 0.65, 0.5);
}

function hslToHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number): string => {
    const k = (n + h / 30) % 12;
    const value = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}
