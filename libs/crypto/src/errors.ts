/**
 * Stable machine-readable codes carried by every {@link HushCryptoError}.
 *
 * - `invalid_key`: a room key is not 32 bytes / 43 base64url characters, or is unusable.
 * - `invalid_base64url`: text is not canonical unpadded base64url.
 * - `invalid_share_code`: a share code violates the `roomId:key[:ephemeral[:expiresAt]]` grammar.
 * - `invalid_join_link`: a join link does not carry a share code in a `#/join/` fragment.
 * - `decrypt_failed`: any failure to open ciphertext, whatever the cause.
 * - `invalid_payload`: decrypted bytes are not UTF-8, or a payload cannot be encoded.
 */
export type HushCryptoErrorCode =
  | 'invalid_key'
  | 'invalid_base64url'
  | 'invalid_share_code'
  | 'invalid_join_link'
  | 'decrypt_failed'
  | 'invalid_payload';

/** The one error class this library throws; branch on {@link HushCryptoError.code}. */
export class HushCryptoError extends Error {
  override readonly name = 'HushCryptoError';

  /** Stable code; messages are for humans and may change. */
  readonly code: HushCryptoErrorCode;

  constructor(code: HushCryptoErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** True when `error` is a {@link HushCryptoError}, optionally with the given code. */
export function isHushCryptoError(
  error: unknown,
  code?: HushCryptoErrorCode,
): error is HushCryptoError {
  return error instanceof HushCryptoError && (code === undefined || error.code === code);
}

/** The single message every decryption failure carries. */
export const DECRYPT_FAILED_MESSAGE = 'decryption failed';

/**
 * Builds the one decryption error. It deliberately has no `cause`: a wrong key, a flipped bit, a
 * truncated input and a malformed field must be indistinguishable to whoever sees the error.
 */
export function decryptFailed(): HushCryptoError {
  return new HushCryptoError('decrypt_failed', DECRYPT_FAILED_MESSAGE);
}
