import { HushCryptoError } from './errors.js';

/**
 * The two canonical JSON forms Arthas clients sign and verify. Both sort object keys at every
 * depth and leave arrays in order; they differ in how they write strings, numbers and key order:
 *
 * - `web`: the Arthas web client's form. Strings and numbers as `JSON.stringify` writes them, keys
 *   in UTF-16 code unit order (JavaScript's default sort).
 * - `go`: the Arthas Go CLI's form (after `encoding/json` decoded the payload into a map). Strings
 *   as Go's `strconv.Quote` writes them (non-printable characters escaped, `\a`-style escapes),
 *   integral numbers without a fraction, other numbers in plain decimal, keys in UTF-8 byte order.
 *
 * For ASCII text and printable Unicode the two forms are byte-identical. They differ for control
 * characters, invisible characters such as U+200B or the zero-width joiner inside emoji sequences,
 * and numbers written with an exponent.
 */
export type CanonicalDialect = 'web' | 'go';

/** Every dialect, the one signatures are made in first. */
export const CANONICAL_DIALECTS: readonly CanonicalDialect[] = ['web', 'go'];

/**
 * Serialises a JSON value canonically. Object members whose value is `undefined` are left out,
 * as `JSON.stringify` does.
 *
 * @throws {HushCryptoError} `invalid_payload` for values JSON cannot hold (bigints, functions,
 * symbols, non-finite numbers, `undefined` at the top or in an array) and for cycles.
 */
export function canonicalJson(value: unknown, dialect: CanonicalDialect = 'web'): string {
  return write(value, dialect, new Set());
}

/**
 * The bytes an Arthas signature covers: the canonical JSON of `payload` without its `sig` member,
 * as UTF-8.
 *
 * @throws {HushCryptoError} `invalid_payload` as {@link canonicalJson}.
 */
export function signableBytes(
  payload: Readonly<Record<string, unknown>>,
  dialect: CanonicalDialect = 'web',
): Uint8Array<ArrayBuffer> {
  // fromEntries defines own properties, so a member named "__proto__" stays a member.
  const rest = Object.fromEntries(Object.entries(payload).filter(([key]) => key !== 'sig'));
  return new TextEncoder().encode(canonicalJson(rest, dialect));
}

function write(value: unknown, dialect: CanonicalDialect, path: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return dialect === 'web' ? JSON.stringify(value) : goQuote(value);
    case 'number':
      if (!Number.isFinite(value)) throw invalid('a number must be finite');
      return dialect === 'web' ? JSON.stringify(value) : goNumber(value);
    case 'object':
      break;
    default:
      throw invalid(`a ${typeof value} cannot be written as JSON`);
  }
  if (path.has(value)) throw invalid('the value has a cycle');
  path.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item: unknown) => write(item, dialect, path)).join(',')}]`;
    }
    const members = Object.entries(value as Record<string, unknown>).filter(
      ([, member]) => member !== undefined,
    );
    members.sort(([a], [b]) => (dialect === 'web' ? compareUnits(a, b) : compareCodePoints(a, b)));
    const written = members.map(
      ([key, member]) =>
        `${dialect === 'web' ? JSON.stringify(key) : goQuote(key)}:${write(member, dialect, path)}`,
    );
    return `{${written.join(',')}}`;
  } finally {
    path.delete(value);
  }
}

function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** UTF-8 byte order, which is code point order (Go's `sort.Strings`). */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!.codePointAt(0)!;
    const y = right[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return left.length - right.length;
}

/** What Go's `strconv.IsPrint` accepts: letters, marks, numbers, punctuation, symbols, ASCII space. */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const GO_SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

/** Go's `strconv.Quote`, for a string `encoding/json` produced (lone surrogates became U+FFFD). */
function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    let code = char.codePointAt(0)!;
    // encoding/json decodes an unpaired surrogate to U+FFFD before Go ever sees the string.
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (GO_PRINTABLE.test(String.fromCodePoint(code))) out += String.fromCodePoint(code);
    else if (GO_SHORT_ESCAPES[code] !== undefined) out += GO_SHORT_ESCAPES[code];
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x10000) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return `${out}"`;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

const INT64_LIMIT = 2 ** 63;

/** How the Go CLI writes a JSON number it decoded as float64. */
function goNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < INT64_LIMIT) return BigInt(value).toString();
  return plainDecimal(value);
}

/** The shortest round-trip digits of `value` in plain decimal notation, never an exponent. */
function plainDecimal(value: number): string {
  const shortest = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(shortest);
  if (match === null) return shortest;
  const [, sign, head, tail = '', exponentText] = match;
  const digits = `${head}${tail}`;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function invalid(message: string): HushCryptoError {
  return new HushCryptoError('invalid_payload', message);
}
