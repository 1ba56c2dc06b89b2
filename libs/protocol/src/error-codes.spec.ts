import { describe, expect, it } from 'vitest';
import { ErrorCode, isErrorCode, protocolError } from './index.js';

const arthasCodes = {
  RoomNotFound: 'E001',
  RoomFull: 'E002',
  NotInRoom: 'E003',
  RateLimited: 'E004',
  InvalidMessage: 'E005',
  WrongPassword: 'E006',
  RoomExpired: 'E007',
};

describe('ErrorCode', () => {
  it('keeps the Arthas codes E001–E007 exactly', () => {
    expect(ErrorCode).toMatchObject(arthasCodes);
  });

  it('gives every code a distinct value', () => {
    const values = Object.values(ErrorCode);
    expect(new Set(values).size).toBe(values.length);
  });

  it('writes every code as E and three digits', () => {
    for (const code of Object.values(ErrorCode)) expect(code).toMatch(/^E\d{3}$/);
  });

  it('numbers codes of our own from E020 up', () => {
    const ours = Object.entries(ErrorCode).filter(([name]) => !(name in arthasCodes));
    expect(ours.length).toBeGreaterThan(0);
    for (const [, code] of ours) expect(Number(code.slice(1))).toBeGreaterThanOrEqual(20);
  });
});

describe('isErrorCode', () => {
  it('accepts every documented code', () => {
    for (const code of Object.values(ErrorCode)) expect(isErrorCode(code)).toBe(true);
  });

  it.each([
    ['an unassigned code', 'E008'],
    ['an unassigned code of ours', 'E099'],
    ['a lowercase code', 'e001'],
    ['a code with whitespace', ' E001'],
    ['the empty string', ''],
    ['a number', 1],
    ['undefined', undefined],
    ['null', null],
    ['a boxed string', new String('E001')],
    ['the name of a code', 'RoomNotFound'],
  ])('rejects %s', (_, value) => {
    expect(isErrorCode(value)).toBe(false);
  });
});

describe('protocolError', () => {
  it('is always E005 and carries the type only when given', () => {
    expect(protocolError('bad_field', 'm')).toStrictEqual({
      code: 'E005',
      reason: 'bad_field',
      message: 'm',
    });
    expect(protocolError('unknown_type', 'm', 0x0d)).toStrictEqual({
      code: 'E005',
      reason: 'unknown_type',
      message: 'm',
      type: 0x0d,
    });
  });
});
