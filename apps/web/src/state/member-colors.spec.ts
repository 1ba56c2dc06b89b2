import { describe, expect, it } from 'vitest';
import {
  contrast,
  MIN_HUE_DISTANCE,
  MIN_TEXT_CONTRAST,
  memberColors,
  THEME_SURFACES,
} from './member-colors.js';

const hue = (hex: string): number => {
  const n = Number.parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => v / 255) as [
    number,
    number,
    number,
  ];
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
};

describe('memberColors', () => {
  it('gives every server colour a readable shade on every surface of both themes', () => {
    // Colours the relay can hand out, the worst for each theme among them.
    const members = [
      '#ffff00',
      '#00ffff',
      '#0000ff',
      '#111111',
      '#ffffff',
      '#e11d48',
      '#808080',
    ].map((color, i) => ({ id: `m${i}`, color }));
    const colors = memberColors(members);
    expect(colors.size).toBe(members.length);
    for (const { light, dark } of colors.values()) {
      for (const surface of THEME_SURFACES.light)
        expect(contrast(light, surface)).toBeGreaterThanOrEqual(MIN_TEXT_CONTRAST);
      for (const surface of THEME_SURFACES.dark)
        expect(contrast(dark, surface)).toBeGreaterThanOrEqual(MIN_TEXT_CONTRAST);
    }
  });

  it("moves a hue that is nearly the same as an earlier member's, alike on every client", () => {
    const members = [
      { id: 'a', color: '#3b82f6' },
      { id: 'b', color: '#3b86f2' },
      { id: 'c', color: '#3a80f8' },
    ];
    const colors = memberColors(members);
    const hues = members.map((m) => hue(colors.get(m.id)!.light));
    for (let i = 0; i < hues.length; i++) {
      for (let j = i + 1; j < hues.length; j++) {
        const d = Math.abs(hues[i]! - hues[j]!) % 360;
        expect(Math.min(d, 360 - d)).toBeGreaterThanOrEqual(MIN_HUE_DISTANCE - 2);
      }
    }
    expect(memberColors(members)).toEqual(colors);
  });

  it('ignores colours not of the form #rrggbb', () => {
    expect(memberColors([{ id: 'x', color: 'red; background: url(x)' }]).size).toBe(0);
  });
});
