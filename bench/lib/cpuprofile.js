// Reads a V8 .cpuprofile (node --cpu-prof) and ranks where the time went: by function (self and
// inclusive time) and by package.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} callFrame
 * @property {number[]} [children]
 */

/**
 * @typedef {object} Frame
 * @property {string} name  function and location
 * @property {string} pkg  package or area the code belongs to
 * @property {number} selfMs
 * @property {number} totalMs  inclusive; recursion counted once
 */

/**
 * Where a script URL belongs: an npm package, a file of the relay, Node itself, or V8.
 * @param {string} url
 * @param {string} root
 */
export function packageOf(url, root) {
  if (url === '') return '(v8)';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const local = relative(root, path);
  const match = /^(apps|libs)\/([^/]+)\//.exec(local);
  return match ? `@hush/${match[2]}` : local;
}

/**
 * @param {string} file  .cpuprofile path
 * @param {string} root  repository root, to shorten paths
 * @param {[number, number]} [window]  only samples in this CLOCK_MONOTONIC window (µs) count
 */
export function summarizeProfile(file, root, window) {
  /** @type {{ nodes: (ProfileNode & { callFrame: any })[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} */
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  /** @type {Map<number, number>} self µs per node */
  const self = new Map();
  const [from, to] = window ?? [profile.startTime, profile.endTime];
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at < from || at > to) return;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  });
  const totalUs = Math.min(to, profile.endTime) - Math.max(from, profile.startTime);

  /** @param {ProfileNode} node */
  const keyOf = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where =
      url === ''
        ? ''
        : ` ${url.startsWith('file://') ? relative(root, new URL(url).pathname) : url}:${lineNumber + 1}`;
    return `${functionName || '(anonymous)'}${where}`;
  };

  /** @type {Map<string, Frame>} */
  const frames = new Map();
  /** @type {Map<string, number>} */
  const packages = new Map();
  const root0 = profile.nodes[0];
  if (root0 === undefined) return { totalMs: 0, frames: [], packages: [] };

  /** Inclusive time per node, computed bottom-up without recursion limits. */
  /** @type {Map<number, number>} */
  const inclusive = new Map();
  /** @type {number[]} */
  const order = [];
  /** @type {number[]} */
  const stack = [root0.id];
  while (stack.length > 0) {
    const id = /** @type {number} */ (stack.pop());
    order.push(id);
    for (const child of byId.get(id)?.children ?? []) stack.push(child);
  }
  for (let i = order.length - 1; i >= 0; i -= 1) {
    const id = /** @type {number} */ (order[i]);
    let sum = self.get(id) ?? 0;
    for (const child of byId.get(id)?.children ?? []) sum += inclusive.get(child) ?? 0;
    inclusive.set(id, sum);
  }

  // Walk again with the set of function keys on the current path, so a recursive function's
  // inclusive time is counted at its outermost frame only.
  /** @type {{ id: number, onPath: Set<string> }[]} */
  const walk = [{ id: root0.id, onPath: new Set() }];
  while (walk.length > 0) {
    const { id, onPath } = /** @type {{ id: number, onPath: Set<string> }} */ (walk.pop());
    const node = /** @type {ProfileNode} */ (byId.get(id));
    const key = keyOf(node);
    const pkg = packageOf(node.callFrame.url, root);
    const frame = frames.get(key) ?? { name: key, pkg, selfMs: 0, totalMs: 0 };
    frame.selfMs += (self.get(id) ?? 0) / 1000;
    if (!onPath.has(key)) frame.totalMs += (inclusive.get(id) ?? 0) / 1000;
    frames.set(key, frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + (self.get(id) ?? 0) / 1000);
    const children = byId.get(id)?.children ?? [];
    if (children.length > 0) {
      const next = new Set(onPath).add(key);
      for (const child of children) walk.push({ id: child, onPath: next });
    }
  }
  return {
    totalMs: totalUs / 1000,
    frames: [...frames.values()],
    packages: [...packages.entries()]
      .map(([pkg, selfMs]) => ({ pkg, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}

/**
 * A markdown report of the top frames.
 * @param {ReturnType<typeof summarizeProfile>} summary
 * @param {number} top
 */
export function renderProfile(summary, top) {
  const busy = summary.frames
    .filter((f) => f.name.startsWith('(idle)') === false)
    .reduce((sum, f) => sum + f.selfMs, 0);
  /** @param {number} value */
  const pct = (value) => `${((value / Math.max(1, summary.totalMs)) * 100).toFixed(1)} %`;
  const lines = [
    `Profile of ${(summary.totalMs / 1000).toFixed(1)} s, busy ${pct(busy)} of it.`,
    '',
    '| Package / area | Self time | Share of wall time |',
    '| --- | ---: | ---: |',
    ...summary.packages
      .filter((p) => p.selfMs >= 1)
      .slice(0, top)
      .map((p) => `| ${p.pkg} | ${p.selfMs.toFixed(0)} ms | ${pct(p.selfMs)} |`),
    '',
    '| Top frames by self time | Package | Self | Share |',
    '| --- | --- | ---: | ---: |',
    ...[...summary.frames]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => `| \`${f.name}\` | ${f.pkg} | ${f.selfMs.toFixed(0)} ms | ${pct(f.selfMs)} |`),
    '',
    '| Top frames by inclusive time (relay and libraries) | Package | Inclusive | Share |',
    '| --- | --- | ---: | ---: |',
    ...[...summary.frames]
      .filter((f) => !f.name.startsWith('(') && f.pkg !== '(v8)')
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, top)
      .map((f) => `| \`${f.name}\` | ${f.pkg} | ${f.totalMs.toFixed(0)} ms | ${pct(f.totalMs)} |`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
