/**
 * Member colours that can be read. The relay gives each member a `#rrggbb` colour derived from
 * its id; some are too light for a white page or too dark for a dark one, and two members can get
 * nearly the same hue. The client derives, for both themes, a colour of the same hue with at
 * least {@link MIN_TEXT_CONTRAST} against every surface a name is shown on, and moves a hue that
 * is too close to an earlier member's. Members are taken in roster order, which every client of
 * the room sees alike.
 */

/** WCAG AA for normal text. */
export const MIN_TEXT_CONTRAST = 4.5;
/** Hues closer than this (degrees) are too easy to confuse. */
export const MIN_HUE_DISTANCE = 30;

/** The surfaces names are written on, per theme (styles.css: --surface, --bg, --surface-2, --own-bg). */
export const THEME_SURFACES = {
  light: ['#ffffff', '#f6f7f9', '#eef0f4', '#e7e6fc'],
  dark: ['#171a21', '#0f1115', '#20242d', '#2a2752'],
} as const;

export interface MemberColors {
  light: string;
  dark: string;
}

const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** Readable colours for each member id, in roster order; members without a valid colour get none. */
export function memberColors(
  members: readonly { id: string; color: string }[],
): Map<string, MemberColors> {
  const taken: number[] = [];
  const result = new Map<string, MemberColors>();
  for (const member of members) {
    if (!COLOR_PATTERN.test(member.color)) continue;
    const { h, s } = toHsl(member.color);
    const hue = spacedHue(h, taken);
    taken.push(hue);
    const saturation = Math.min(Math.max(s, 0.45), 0.8);
    result.set(member.id, {
      light: readable(hue, saturation, THEME_SURFACES.light, 'darker'),
      dark: readable(hue, saturation, THEME_SURFACES.dark, 'lighter'),
    });
  }
  return result;
}

/** `hue`, or the first hue along golden-angle steps that keeps its distance from `taken`. */
function spacedHue(hue: number, taken: readonly number[]): number {
  let best = hue;
  let bestDistance = -1;
  for (let step = 0; step < 12; step++) {
    const candidate = (hue + step * 137.508) % 360;
    const distance = Math.min(360, ...taken.map((other) => hueDistance(candidate, other)));
    if (distance >= MIN_HUE_DISTANCE) return candidate;
    if (distance > bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

/** The lightness closest to the middle that reads on every surface, moving `direction`. */
function readable(
  hue: number,
  saturation: number,
  surfaces: readonly string[],
  direction: 'darker' | 'lighter',
): string {
  for (let step = 0; step <= 100; step++) {
    const lightness = direction === 'darker' ? 0.5 - step * 0.005 : 0.5 + step * 0.005;
    const color = fromHsl(hue, saturation, lightness);
    if (surfaces.every((surface) => contrast(color, surface) >= MIN_TEXT_CONTRAST)) return color;
  }
  return direction === 'darker' ? '#000000' : '#ffffff';
}

/** WCAG contrast ratio of two `#rrggbb` colours. */
export function contrast(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((value) => {
    const c = value / 255;
    return c <= 0.040_45 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function channels(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function toHsl(hex: string): { h: number; s: number; l: number } {
  const [r, g, b] = channels(hex).map((v) => v / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  if (d === 0) return { h: 0, s: 0, l };
  const s = d / (1 - Math.abs(2 * l - 1));
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  return { h: (h * 60 + 360) % 360, s, l };
}

function fromHsl(h: number, s: number, l: number): string {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    h < 60
      ? [c, x, 0]
      : h < 120
        ? [x, c, 0]
        : h < 180
          ? [0, c, x]
          : h < 240
            ? [0, x, c]
            : h < 300
              ? [x, 0, c]
              : [c, 0, x];
  const hex = (v: number) =>
    Math.round((v + m) * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}
