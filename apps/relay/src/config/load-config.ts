import { readFileSync } from 'node:fs';
import YAML, { YAMLParseError } from 'yaml';
import { z } from 'zod';
import {
  CONFIG_DEFAULTS,
  CONFIG_FILE_ENV,
  CROSS_FIELD,
  ENV_BINDINGS,
  ENV_VARS,
  relayConfigSchema,
  type DeepPartial,
  type EnvKind,
  type RelayConfig,
} from './config.schema.js';

export type { DeepPartial, LogLevel, RateLimit, RelayConfig } from './config.schema.js';
export { CONFIG_FILE_ENV, ENV_VARS } from './config.schema.js';

/** The configuration is invalid; `issues` holds one line per problem, naming key and variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: string[];

  constructor(issues: string[]) {
    super(['Invalid relay configuration:', ...issues.map((issue) => `  ${issue}`)].join('\n'));
    this.issues = issues;
  }
}

export interface LoadConfigOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Command-line arguments searched for `--config`; defaults to `process.argv.slice(2)`. */
  argv?: string[];
  /** Applied last, validated like every other source (tests). */
  overrides?: DeepPartial<RelayConfig>;
}

/**
 * Builds the relay configuration from defaults, the YAML file (`--config <path>`,
 * `--config=<path>` or `HUSH_CONFIG`), the environment and `overrides`, later sources winning,
 * and validates the result with {@link relayConfigSchema}.
 *
 * @returns a deeply frozen configuration.
 * @throws {ConfigError} listing every problem found.
 */
export function loadConfig(options: LoadConfigOptions = {}): RelayConfig {
  const env = options.env ?? process.env;
  const argv = options.argv ?? process.argv.slice(2);

  const merged: Tree = {};
  const sources: Sources = new Map();
  mergeLayer(merged, CONFIG_DEFAULTS, sources, () => ({ kind: 'default' }));

  const file = configFileLocation(argv, env);
  if (file !== undefined) {
    const layer = readConfigFile(file);
    if ('issue' in layer) throw new ConfigError([layer.issue]);
    mergeLayer(merged, layer.tree, sources, () => ({ kind: 'file', path: file.path }));
  }

  const envLayer = environmentLayer(env);
  mergeLayer(merged, envLayer.tree, sources, envLayer.sourceOf);

  if (options.overrides !== undefined) {
    if (!isMapping(options.overrides)) throw new ConfigError(['overrides: expected a mapping']);
    mergeLayer(merged, options.overrides, sources, () => ({ kind: 'overrides' }));
  }

  const result = relayConfigSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(result.error.issues.flatMap((issue) => describe(issue, merged, sources)));
  }
  return deepFreeze(result.data);
}

type Tree = Record<string, unknown>;
type Path = readonly PropertyKey[];

/** Where a value came from, so an error can point at the variable or file to fix. */
type Source =
  | { kind: 'default' }
  | { kind: 'env'; name: string; raw: string | undefined }
  | { kind: 'file'; path: string }
  | { kind: 'overrides' };

/** Leaf key (path segments joined by NUL, so keys with dots stay distinct) → its source. */
type Sources = Map<string, Source>;

const keyOf = (path: Path): string => path.map(String).join('\0');

function isMapping(value: unknown): value is Tree {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Own-property write: a `__proto__` key from a file stays a key (and is reported as unknown). */
function define(target: Tree, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function forget(sources: Sources, path: Path): void {
  const key = keyOf(path);
  for (const recorded of sources.keys()) {
    if (recorded === key || recorded.startsWith(`${key}\0`)) sources.delete(recorded);
  }
}

/** Deep-merges `layer` into `target`; `null`/`undefined` mean "not set", arrays replace whole. */
function mergeLayer(
  target: Tree,
  layer: object,
  sources: Sources,
  sourceOf: (path: Path) => Source,
  prefix: Path = [],
): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined || value === null) continue;
    const path = [...prefix, key];
    if (isMapping(value)) {
      const existing = Object.hasOwn(target, key) ? target[key] : undefined;
      let child: Tree;
      if (isMapping(existing)) {
        child = existing;
      } else {
        child = {};
        define(target, key, child);
        forget(sources, path);
      }
      mergeLayer(child, value, sources, sourceOf, path);
    } else {
      define(target, key, Array.isArray(value) ? [...(value as unknown[])] : value);
      forget(sources, path);
      sources.set(keyOf(path), sourceOf(path));
    }
  }
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  1: true,
  0: false,
  yes: true,
  no: false,
};

/**
 * Turns a variable's string into the value the schema expects. A string that does not convert
 * is passed through unchanged so the schema rejects it with the usual message.
 */
function fromEnvString(kind: EnvKind, text: string): unknown {
  switch (kind) {
    case 'string':
      return text;
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case 'boolean':
      return BOOLEAN_WORDS[text.toLowerCase()] ?? text;
    case 'list':
      return text
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
    case 'rate': {
      const match = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
      return match ? { events: Number(match[1]), windowMs: Number(match[2]) } : text;
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** The environment as a nested partial config. Empty and blank variables count as unset. */
function environmentLayer(env: NodeJS.ProcessEnv): {
  tree: Tree;
  sourceOf: (path: Path) => Source;
} {
  const tree: Tree = {};
  const bound = new Map<string, Source>();
  for (const { path, env: name, kind } of ENV_BINDINGS) {
    const text = env[name]?.trim();
    if (text === undefined || text === '') continue;
    const segments = path.split('.');
    let node = tree;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      node = isMapping(next) ? next : (node[segment] = {});
    }
    node[segments.at(-1) ?? path] = fromEnvString(kind, text);
    // A list is reported entry by entry, so its raw string is not echoed as "got".
    bound.set(path, { kind: 'env', name, raw: kind === 'list' ? undefined : text });
  }
  return {
    tree,
    sourceOf: (path) => {
      for (let length = path.length; length > 0; length--) {
        const source = bound.get(path.slice(0, length).join('.'));
        if (source) return source;
      }
      return { kind: 'default' };
    },
  };
}

interface ConfigFileLocation {
  path: string;
  /** What named the file, for messages: `--config` or `HUSH_CONFIG`. */
  from: string;
}

function configFileLocation(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ConfigFileLocation | undefined {
  let found: ConfigFileLocation | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--') break;
    let value: string | undefined;
    if (argument === '--config') {
      value = argv[index + 1];
      index++;
    } else if (argument?.startsWith('--config=')) {
      value = argument.slice('--config='.length);
    } else {
      continue;
    }
    if (value === undefined || value.trim() === '' || value.startsWith('--')) {
      throw new ConfigError(['--config: expected the path of a YAML file']);
    }
    found = { path: value, from: '--config' };
  }
  if (found) return found;
  const fromEnv = env[CONFIG_FILE_ENV]?.trim();
  return fromEnv ? { path: fromEnv, from: CONFIG_FILE_ENV } : undefined;
}

function readConfigFile(file: ConfigFileLocation): { tree: Tree } | { issue: string } {
  const label = `config file "${file.path}" (${file.from})`;
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return { issue: `${label}: cannot be read (${code})` };
  }
  let document: unknown;
  try {
    // Pretty errors quote the offending line, which may hold a secret such as a Redis password.
    document = YAML.parse(text, { prettyErrors: false });
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const offset = error.pos[0];
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return { issue: `${label}: invalid YAML at line ${line}, column ${column}: ${error.message}` };
  }
  if (document === null || document === undefined) return { tree: {} };
  if (!isMapping(document)) {
    return { issue: `${label}: expected a mapping of settings, got ${describeValue(document)}` };
  }
  return { tree: document };
}

/** Hides URL credentials: for each comma-separated part, everything up to its last `@`. */
function maskCredentials(text: string): string {
  return text
    .split(',')
    .map((part) => {
      const at = part.lastIndexOf('@');
      if (at < 0) return part;
      const scheme = part.indexOf('://');
      const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
      return `${part.slice(0, start)}***${part.slice(at)}`;
    })
    .join(',');
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(maskCredentials(value));
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  return String(value);
}

function valueAt(tree: Tree, path: Path): unknown {
  let node: unknown = tree;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    const key = String(segment);
    node = Object.hasOwn(node, key) ? (node as Tree)[key] : undefined;
  }
  return node;
}

/** The source of `path` itself or its nearest ancestor, else of any key beneath it. */
function sourceAt(sources: Sources, path: Path): Source | undefined {
  for (let length = path.length; length > 0; length--) {
    const source = sources.get(keyOf(path.slice(0, length)));
    if (source) return source;
  }
  const key = keyOf(path);
  for (const [recorded, source] of sources) {
    if (recorded.startsWith(`${key}\0`)) return source;
  }
  return undefined;
}

function displayPath(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/** The variable bound to `path` or to the nearest ancestor (a rate's `events` → HUSH_RATE_*). */
function envVarFor(path: Path): string | undefined {
  const firstIndex = path.findIndex((segment) => typeof segment !== 'string');
  const keys = (firstIndex < 0 ? path : path.slice(0, firstIndex)).map(String);
  for (let length = keys.length; length > 0; length--) {
    const name = ENV_VARS[keys.slice(0, length).join('.')];
    if (name !== undefined) return name;
  }
  return undefined;
}

function whereFrom(source: Source | undefined): string {
  switch (source?.kind) {
    case 'file':
      return ` (in ${source.path})`;
    case 'overrides':
      return ' (in overrides)';
    default:
      return '';
  }
}

/** Keys the schema accepts at `path`, for "did you mean" hints. */
function knownKeys(path: Path): string[] {
  let schema: z.core.$ZodType | undefined = relayConfigSchema;
  for (const segment of path) {
    if (schema instanceof z.ZodOptional) schema = schema.unwrap();
    schema = schema instanceof z.ZodObject ? schema.shape[String(segment)] : undefined;
  }
  if (schema instanceof z.ZodOptional) schema = schema.unwrap();
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(path: Path, key: string): string {
  const close = knownKeys(path).find(
    (known) => known.toLowerCase() === key.toLowerCase() || editDistance(known, key) <= 2,
  );
  return close === undefined ? '' : `, did you mean ${close}?`;
}

function describe(issue: z.core.$ZodIssue, merged: Tree, sources: Sources): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return `${displayPath(path)}: unknown key${suggestion(issue.path, key)}${whereFrom(sourceAt(sources, path))}`;
    });
  }
  const env = envVarFor(issue.path);
  const head = env === undefined ? displayPath(issue.path) : `${displayPath(issue.path)} (${env})`;
  const source = sourceAt(sources, issue.path);
  const crossField =
    issue.code === 'custom' && issue.params?.['crossField'] === CROSS_FIELD.crossField;
  const value = valueAt(merged, issue.path);
  let got = '';
  if (!crossField && value !== undefined) {
    got =
      source?.kind === 'env' && source.raw !== undefined
        ? `, got ${JSON.stringify(maskCredentials(source.raw))}`
        : `, got ${describeValue(value)}`;
  }
  return [`${head}: ${issue.message}${got}${whereFrom(source)}`];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
