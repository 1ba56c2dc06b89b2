import { describe, expect, it } from 'vitest';
import {
  DECRYPT_FAILED_MESSAGE,
  HushCryptoError,
  decryptFailed,
  isHushCryptoError,
} from './errors.js';

describe('HushCryptoError', () => {
  it('is an Error with a name, a stable code and a message', () => {
    const error = new HushCryptoError('invalid_key', 'bad key');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('HushCryptoError');
    expect(error.code).toBe('invalid_key');
    expect(error.message).toBe('bad key');
  });

  it('keeps a cause when one is given', () => {
    const cause = new Error('inner');
    expect(new HushCryptoError('invalid_payload', 'outer', { cause }).cause).toBe(cause);
  });

  it('makes every decryption error alike and without a cause', () => {
    const a = decryptFailed();
    const b = decryptFailed();
    expect(a).not.toBe(b);
    for (const error of [a, b]) {
      expect(error.code).toBe('decrypt_failed');
      expect(error.message).toBe(DECRYPT_FAILED_MESSAGE);
      expect(error.cause).toBeUndefined();
    }
  });
});

describe('isHushCryptoError', () => {
  it('recognises our errors, optionally by code', () => {
    const error = new HushCryptoError('invalid_share_code', 'x');
    expect(isHushCryptoError(error)).toBe(true);
    expect(isHushCryptoError(error, 'invalid_share_code')).toBe(true);
    expect(isHushCryptoError(error, 'invalid_key')).toBe(false);
  });

  it('rejects other errors and look-alikes', () => {
    expect(isHushCryptoError(new Error('x'))).toBe(false);
    expect(isHushCryptoError({ name: 'HushCryptoError', code: 'invalid_key', message: 'x' })).toBe(
      false,
    );
    expect(isHushCryptoError(undefined)).toBe(false);
  });
});
