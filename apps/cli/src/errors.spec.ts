import { ErrorCode } from '@hush/protocol';
import { HushCryptoError } from '@hush/crypto';
import { describe, expect, it } from 'vitest';
import type { SessionEnd } from './errors.js';
import {
  describeEnd,
  describeError,
  describeJoinInputError,
  ERROR_TEXT,
  ExitCode,
  exitCodeFor,
} from './errors.js';

const ctx = { passwordGiven: true, canPrompt: false };

describe('error texts', () => {
  it('gives every protocol error code its own sentence', () => {
    const codes = Object.values(ErrorCode);
    expect(Object.keys(ERROR_TEXT).sort()).toEqual([...codes].sort());
    const sentences = codes.map(describeError);
    expect(new Set(sentences).size).toBe(codes.length);
    for (const sentence of sentences) expect(sentence).toMatch(/^[A-Z].*\.$/);
  });

  it('explains an unknown room, a wrong password and an expired room in plain words', () => {
    expect(describeError(ErrorCode.RoomNotFound)).toMatch(/room not found/i);
    expect(describeError(ErrorCode.WrongPassword)).toMatch(/wrong room password/i);
    expect(describeError(ErrorCode.RoomExpired)).toMatch(/expired/i);
    expect(describeError(ErrorCode.NameTaken)).toMatch(/--name/);
  });

  it('tells a script without a password how to give one, and never echoes the key', () => {
    const end: SessionEnd = { kind: 'refused', code: ErrorCode.WrongPassword, rejoin: false };
    expect(describeEnd(end, { passwordGiven: false, canPrompt: false })).toMatch(
      /--password.*HUSH_PASSWORD/,
    );
    expect(describeEnd(end, { passwordGiven: true, canPrompt: false })).toBe(
      describeError(ErrorCode.WrongPassword),
    );
    const error = new HushCryptoError('invalid_share_code', 'the key must be 43 characters');
    expect(describeJoinInputError(error)).toBe(
      'Invalid share code: the key must be 43 characters.',
    );
  });

  it('says a room gone during a reconnect vanished because it emptied', () => {
    const end: SessionEnd = { kind: 'refused', code: ErrorCode.RoomNotFound, rejoin: true };
    expect(describeEnd(end, ctx)).toMatch(/no longer exists/);
  });

  it('explains a seat lost in a cluster recovery, and maps it to refused (4), not expired', () => {
    const end = { kind: 'room-closed', reason: 'seat-lost' } as const;
    expect(describeEnd(end, ctx)).toMatch(/gave our place in the room away/);
    expect(exitCodeFor(end)).toBe(ExitCode.Refused);
    expect(exitCodeFor({ kind: 'room-closed', reason: 'expired' })).toBe(ExitCode.RoomClosed);
  });

  it('prints nothing for a normal leave', () => {
    expect(describeEnd({ kind: 'left' }, ctx)).toBeUndefined();
  });
});

describe('exit codes', () => {
  it('are distinct', () => {
    const values = Object.values(ExitCode);
    expect(new Set(values).size).toBe(values.length);
  });

  it.each<[SessionEnd, number]>([
    [{ kind: 'left' }, 0],
    [{ kind: 'room-closed', reason: 'expired' }, 3],
    [{ kind: 'refused', code: ErrorCode.RoomExpired, rejoin: false }, 3],
    [{ kind: 'refused', code: ErrorCode.RoomNotFound, rejoin: false }, 4],
    [{ kind: 'refused', code: ErrorCode.WrongPassword, rejoin: false }, 4],
    [{ kind: 'refused', code: ErrorCode.RoomNotFound, rejoin: true }, 4],
    [{ kind: 'unreachable', detail: 'ECONNREFUSED', rejoin: false }, 5],
    [{ kind: 'failed', detail: 'bug' }, 1],
  ])('%j exits with %i', (end, code) => {
    expect(exitCodeFor(end)).toBe(code);
  });
});
