import { describe, expect, it } from 'vitest';
import { byteSize, clockDuration, expiryText } from './format.js';

describe('expiryText', () => {
  const now = 1_700_000_000_000;
  const at = (seconds: number) => now / 1000 + seconds;
  it('counts the last hour to the second and says when the room has expired', () => {
    expect(expiryText(0, now)).toBe('never');
    expect(expiryText(at(3), now)).toBe('in 0:03');
    expect(expiryText(at(3599), now)).toBe('in 59:59');
    expect(expiryText(at(0), now)).toBe('expired');
    expect(expiryText(at(-5), now)).toBe('expired');
    expect(expiryText(at(5 * 3600), now)).toBe('in 5 h');
    expect(expiryText(at(6 * 86_400), now)).toBe('in 6 days');
  });

  it('formats durations and sizes', () => {
    expect(clockDuration(9.2)).toBe('0:10');
    expect(clockDuration(299)).toBe('4:59');
    expect(byteSize(12)).toBe('12 bytes');
    expect(byteSize(340_000)).toBe('340 KB');
    expect(byteSize(5_242_880)).toBe('5.2 MB');
  });
});
