import { describe, expect, it } from 'vitest';
import type { Logger } from './logger.js';
import { describeFault, ThrottledLog } from './throttled-log.js';

function recorder() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  const logger = { error: at('error'), warn: at('warn'), info: at('info') } as unknown as Logger;
  return { logger, lines };
}

describe('ThrottledLog', () => {
  it('writes the first occurrence of a cause at once and counts the rest of the interval', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new ThrottledLog(logger, 1000, () => now);
    for (let i = 0; i < 300; i++)
      log.write('error', 'publish', { what: 'fanout' }, 'publish failed');
    expect(lines).toEqual([
      { level: 'error', fields: { what: 'fanout', cause: 'publish' }, message: 'publish failed' },
    ]);
    now = 1000;
    log.write('error', 'publish', { what: 'fanout' }, 'publish failed');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toEqual({ what: 'fanout', cause: 'publish', suppressed: 299 });
  });

  it('throttles each cause on its own', () => {
    const { logger, lines } = recorder();
    const log = new ThrottledLog(logger, 1000, () => 0);
    log.write('warn', 'a', {}, 'a');
    log.write('warn', 'b', {}, 'b');
    log.write('warn', 'a', {}, 'a');
    expect(lines.map((line) => line.message)).toEqual(['a', 'b']);
  });

  it('reports no count after a quiet interval', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new ThrottledLog(logger, 1000, () => now);
    log.write('info', 'x', {}, 'x');
    now = 5000;
    log.write('info', 'x', {}, 'x');
    expect(lines[1]?.fields).toEqual({ cause: 'x' });
  });
});

describe('describeFault', () => {
  it('keeps an error code and message and drops the stack', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(describeFault(error)).toBe('ECONNREFUSED: connect ECONNREFUSED');
    expect(describeFault('plain')).toBe('plain');
  });
});
