// Reads V8 heap snapshots (node --heapsnapshot-signal) and compares two of them: which kinds of
// objects the heap gained between them, in bytes and in count, per unit of whatever was added
// (here: per idle connection).
import { readFileSync } from 'node:fs';

/**
 * @typedef {object} HeapGroup
 * @property {number} count
 * @property {number} bytes  shallow (self) size
 */

/**
 * Shallow size and count per object kind: constructor name for objects, `(closure) name @
 * file:line` for functions, `(string)`, `(code)`, `(array) name`, `(native) name` and so on for
 * the rest.
 * @param {string} file
 * @param {string} root  repository root, to shorten script paths
 * @returns {{ groups: Map<string, HeapGroup>, totalBytes: number }}
 */
export function summarizeHeap(file, root) {
  /**
   * @type {{
   *   snapshot: { meta: { node_fields: string[], node_types: [string[]], edge_fields: string[], edge_types: [string[]], location_fields?: string[] } },
   *   nodes: number[], edges: number[], strings: string[], locations?: number[]
   * }}
   */
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const types = meta.node_types[0];
  const width = meta.node_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeWidth = meta.edge_fields.length;
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const edgeToAt = meta.edge_fields.indexOf('to_node');
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;

  /** @type {Int32Array} first edge (offset into `edges`) of each node, by node ordinal */
  const firstEdge = new Int32Array(nodes.length / width + 1);
  for (let n = 0, offset = 0; n < nodes.length / width; n += 1) {
    firstEdge[n] = offset;
    offset += (nodes[n * width + edgeCountAt] ?? 0) * edgeWidth;
    firstEdge[n + 1] = offset;
  }
  /**
   * The node an internal edge named `name` of `node` points to (a node index), or -1.
   * @param {number} node  index into `nodes`
   * @param {string} name
   */
  const follow = (node, name) => {
    const ordinal = node / width;
    for (let e = firstEdge[ordinal] ?? 0; e < (firstEdge[ordinal + 1] ?? 0); e += edgeWidth) {
      const type = edgeTypes[edges[e + edgeTypeAt] ?? 0];
      if (type !== 'internal' && type !== 'property') continue;
      if (strings[edges[e + edgeNameAt] ?? 0] === name) return edges[e + edgeToAt] ?? -1;
    }
    return -1;
  };
  /** Line of each function, from the snapshot's locations (object_index is a node index). */
  /** @type {Map<number, number>} */
  const lines = new Map();
  const locationFields = meta.location_fields ?? [];
  const locations = snapshot.locations ?? [];
  const objectAt = locationFields.indexOf('object_index');
  const lineAt = locationFields.indexOf('line');
  for (let i = 0; objectAt >= 0 && i < locations.length; i += locationFields.length) {
    lines.set(locations[i + objectAt] ?? -1, (locations[i + lineAt] ?? 0) + 1);
  }
  /** @type {Map<number, string>} script file of a SharedFunctionInfo */
  const scriptOf = new Map();
  /** @param {number} closure */
  const where = (closure) => {
    const shared = follow(closure, 'shared');
    if (shared < 0) return '';
    let script = scriptOf.get(shared);
    if (script === undefined) {
      // V8 names the edge `script_or_debug_info` (older versions: `script`); the script node is
      // named after its URL.
      let scriptNode = follow(shared, 'script_or_debug_info');
      if (scriptNode < 0) scriptNode = follow(shared, 'script');
      const path = scriptNode < 0 ? '' : (strings[nodes[scriptNode + nameAt] ?? 0] ?? '');
      script = path
        .replace(/^file:\/\//, '')
        .replace(root, '')
        .replace(/^.*node_modules\//, '');
      scriptOf.set(shared, script);
    }
    const line = lines.get(closure);
    return script === '' ? '' : ` @ ${script}${line === undefined ? '' : `:${line}`}`;
  };

  /** @type {Map<string, HeapGroup>} */
  const groups = new Map();
  let totalBytes = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] ?? 0] ?? 'unknown';
    const name = strings[nodes[i + nameAt] ?? 0] ?? '';
    const bytes = nodes[i + sizeAt] ?? 0;
    const key =
      type === 'object'
        ? name
        : type === 'closure'
          ? `(closure) ${name || 'anonymous'}${where(i)}`
          : type === 'string' || type === 'concatenated string' || type === 'sliced string'
            ? '(string)'
            : type === 'number' || type === 'code' || type === 'object shape'
              ? `(${type})`
              : `(${type}) ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += bytes;
    groups.set(key, group);
    totalBytes += bytes;
  }
  return { groups, totalBytes };
}

/**
 * What `after` holds more than `before`, per `per` (e.g. per connection added), biggest first.
 * @param {ReturnType<typeof summarizeHeap>} before
 * @param {ReturnType<typeof summarizeHeap>} after
 * @param {number} per
 */
export function diffHeaps(before, after, per) {
  const rows = [];
  for (const [key, group] of after.groups) {
    const was = before.groups.get(key) ?? { count: 0, bytes: 0 };
    const bytes = (group.bytes - was.bytes) / per;
    const count = (group.count - was.count) / per;
    if (Math.abs(bytes) >= 1) rows.push({ key, bytes, count });
  }
  rows.sort((a, b) => b.bytes - a.bytes);
  return { totalBytes: (after.totalBytes - before.totalBytes) / per, rows };
}

/**
 * @param {ReturnType<typeof diffHeaps>} diff
 * @param {number} top
 */
export function renderHeapDiff(diff, top) {
  const lines = [
    `JS heap growth: ${(diff.totalBytes / 1024).toFixed(2)} KB per connection (shallow sizes of every object added).`,
    '',
    '| Object kind (constructor, closure name, ...) | Bytes per connection | Objects per connection |',
    '| --- | ---: | ---: |',
    ...diff.rows
      .slice(0, top)
      .map(
        (r) =>
          `| \`${r.key.replace(/\|/g, '\\|')}\` | ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} |`,
      ),
    '',
  ];
  /** @type {Map<string, { bytes: number, count: number }>} */
  const byPackage = new Map();
  for (const row of diff.rows) {
    const match = / @ (.+?):\d+$/.exec(row.key);
    if (match === null) continue;
    const path = match[1] ?? '';
    const parts = path.replace(/^\//, '').split('/');
    const pkg = parts[0]?.startsWith('@')
      ? `${parts[0]}/${parts[1]}`
      : /^(apps|libs)$/.test(parts[0] ?? '')
        ? `${parts[0]}/${parts[1]}`
        : (parts[0] ?? path);
    const group = byPackage.get(pkg) ?? { bytes: 0, count: 0 };
    group.bytes += row.bytes;
    group.count += row.count;
    byPackage.set(pkg, group);
  }
  lines.push(
    '| Closures created per connection, by package | Bytes (closure objects only) | Closures |',
    '| --- | ---: | ---: |',
    ...[...byPackage.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([pkg, g]) => `| ${pkg} | ${g.bytes.toFixed(0)} | ${g.count.toFixed(1)} |`),
    '',
    'Closures also keep a `system / Context` each (the captured variables), counted above.',
    '',
  );
  return `${lines.join('\n')}\n`;
}
