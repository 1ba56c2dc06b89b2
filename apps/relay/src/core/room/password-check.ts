import type { ScryptOptions } from 'node:crypto';
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '@hush/protocol';
import pLimit from 'p-limit';
import { AdmissionError } from '../../cluster/presence.port.js';

/**
 * Stored password check values. The relay never stores the client's password hash (the SHA-256
 * hex every Arthas client sends): it stores a scrypt of it under a per-room random salt, as one
 * PHC-style string that names its parameters, so whoever reads the presence store pays a slow KDF
 * per guess, and the parameters can be raised later without breaking existing rooms:
 *
 *     $scrypt$ln=14,r=8,p=1$<salt, base64url>$<32-byte key, base64url>
 *
 * scrypt runs on libuv's thread pool (node:crypto's async `scrypt`), never on the event loop, and
 * at most {@link KDF_CONCURRENCY} at a time per replica, with at most {@link KDF_MAX_WAITING}
 * more waiting: each run holds 16 MiB, and the thread pool also serves compression and DNS.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** What new check values use: N = 2^14, r = 8, p = 1 (16 MiB, tens of ms per run). */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = { ln: 14, r: 8, p: 1 };
export const SCRYPT_KEY_BYTES = 32;
const SALT_BYTES = 16;
/** KDF runs at once per replica (libuv's pool has 4 threads by default). */
export const KDF_CONCURRENCY = 2;
/** KDF runs allowed to wait for a turn; past that a password check is refused as busy. */
export const KDF_MAX_WAITING = 32;
/** Bounds on parameters read back from the store, so a bad value cannot ask for gigabytes. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const PARAM_BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;

const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/;

/** Too many password checks in flight on this replica: the caller answers "try again". */
export class PasswordCheckBusyError extends Error {
  constructor() {
    super('too many password checks in progress');
    this.name = 'PasswordCheckBusyError';
  }
}

/** Runs a password check step, turning a full KDF queue into a refusal the client understands. */
export async function whenNotBusy<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof PasswordCheckBusyError) {
      throw new AdmissionError(ErrorCode.Unavailable, 'the relay is busy; try again shortly');
    }
    throw error;
  }
}

/** Makes and verifies stored password check values, with bounded concurrent KDF work. */
export class PasswordChecker {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly params: Readonly<ScryptParams> = SCRYPT_PARAMS,
    concurrency = KDF_CONCURRENCY,
    private readonly maxWaiting = KDF_MAX_WAITING,
  ) {
    this.limit = pLimit(concurrency);
  }

  /** KDF runs in progress or waiting. */
  get pending(): number {
    return this.limit.activeCount + this.limit.pendingCount;
  }

  /** The stored check value for a room's password hash ("" for a room without a password). */
  async make(passwordHash: string): Promise<string> {
    if (passwordHash === '') return '';
    const salt = randomBytes(SALT_BYTES);
    const key = await this.derive(passwordHash, salt, this.params, SCRYPT_KEY_BYTES);
    const { ln, r, p } = this.params;
    return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /**
   * Constant-time comparison of a joiner's password hash against a stored check value. Rejects
   * with PasswordCheckBusyError when too many checks are waiting, and with an Error when the
   * stored value is unreadable.
   */
  async matches(stored: string, passwordHash: string): Promise<boolean> {
    const { params, salt, key } = parseCheck(stored);
    const actual = await this.derive(passwordHash, salt, params, key.length);
    return timingSafeEqual(key, actual);
  }

  private derive(
    passwordHash: string,
    salt: Buffer,
    params: ScryptParams,
    keyBytes: number,
  ): Promise<Buffer> {
    if (this.limit.pendingCount >= this.maxWaiting) {
      return Promise.reject(new PasswordCheckBusyError());
    }
    return this.limit(() => scryptAsync(passwordHash, salt, params, keyBytes));
  }
}

/** The parts of a stored check value; throws on anything but a well-formed, bounded value. */
export function parseCheck(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } {
  const match = PHC.exec(stored);
  if (match === null) throw new Error('unreadable password check value');
  const [, ln, r, p, salt, key] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const params = { ln: Number(ln), r: Number(r), p: Number(p) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = PARAM_BOUNDS[name];
    if (params[name] < min || params[name] > max) {
      throw new Error(`password check value has ${name}=${params[name]}, outside ${min}…${max}`);
    }
  }
  if (memoryOf(params) > MAX_MEMORY_BYTES) throw new Error('password check value is too costly');
  const derived = Buffer.from(key, 'base64url');
  if (derived.length < MIN_KEY_BYTES || derived.length > MAX_KEY_BYTES) {
    throw new Error(`password check value has a ${derived.length}-byte key`);
  }
  return { params, salt: Buffer.from(salt, 'base64url'), key: derived };
}

/**
 * Rooms created by relays before scrypt kept `salt` and a base64url SHA-256 of
 * `salt:passwordHash`. They are still verified (a rolling upgrade must not lock anyone out of a
 * live room), never written.
 */
export function legacyPasswordMatches(salt: string, check: string, passwordHash: string): boolean {
  const expected = Buffer.from(check, 'base64url');
  const actual = createHash('sha256').update(salt).update(':').update(passwordHash).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Bytes scrypt needs for `params` (128·N·r per lane, plus the parallel blocks). */
function memoryOf({ ln, r, p }: ScryptParams): number {
  return 128 * r * (2 ** ln + p + 2);
}

function scryptAsync(
  passwordHash: string,
  salt: Buffer,
  params: ScryptParams,
  keyBytes: number,
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    maxmem: 2 * memoryOf(params),
  };
  return new Promise((resolve, reject) => {
    scrypt(passwordHash, salt, keyBytes, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}
