// Child processes of a bench run: relays, redis-server and the load generator. Every child is
// tracked and killed (by its own pid) if the run ends early; every wait is bounded.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();

/** Kills every child still running (SIGKILL); for exits and fatal errors. */
export function killAll() {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

/**
 * @param {import('node:child_process').ChildProcess} child
 */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * @typedef {object} Started
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} pid
 * @property {number} port
 */

/**
 * Starts a process whose output goes to `logFile`.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string | undefined>, cwd?: string, logFile: string }} options
 */
export function startProcess(command, args, options) {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = track(
    spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('exit', () => setTimeout(() => log.end(), 100));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return child;
}

/**
 * Polls `http://127.0.0.1:port/readyz` until it answers 200.
 * @param {number} port
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} timeoutMs
 */
export async function waitReady(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
    if ((await httpStatus(port, '/readyz')) === 200) return;
    await sleep(50);
  }
  throw new Error(`not ready on port ${port} after ${timeoutMs} ms`);
}

/**
 * @param {number} port
 * @param {string} path
 * @returns {Promise<number | undefined>}
 */
export function httpStatus(port, path) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} graceMs
 */
export async function stopProcess(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}

/**
 * A throwaway redis-server (Debian's binary) on a free loopback port: no persistence.
 * @param {string} logFile
 */
export async function startRedis(logFile) {
  const binary = process.env.BENCH_REDIS_SERVER ?? '/usr/bin/redis-server';
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const child = startProcess(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--maxclients',
        '10000',
      ],
      { logFile },
    );
    try {
      await waitRedis(port, child, 10_000);
      return { child, port, url: `redis://127.0.0.1:${port}` };
    } catch (error) {
      await stopProcess(child, 1_000);
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * @param {number} port
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} timeoutMs
 */
async function waitRedis(port, child, timeoutMs) {
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`redis-server not answering on port ${port}`);
}

/**
 * Empties a Redis between units so each system starts from nothing.
 * @param {string} url
 */
export async function flushRedis(url) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

/** Soft and hard open-file limits of this process. */
export function fileLimits() {
  const line = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
    readFileSync('/proc/self/limits', 'utf8'),
  );
  const parse = (/** @type {string | undefined} */ v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: parse(line?.[1]), hard: parse(line?.[2]) };
}

/**
 * Raises this process's open-file limit (children inherit it) with util-linux `prlimit`, which
 * can also raise the hard limit when running as root. Returns the soft limit in force after.
 * @param {number} wanted
 */
export function raiseFileLimit(wanted) {
  const { soft, hard } = fileLimits();
  if (soft >= wanted) return soft;
  const text = (/** @type {number} */ n) => (n === Infinity ? 'unlimited' : String(n));
  const attempts = [
    `${wanted}:${text(Math.max(wanted, hard))}`,
    `${text(Math.min(wanted, hard))}:${text(hard)}`,
  ];
  for (const value of attempts) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${value}`], {
        stdio: 'ignore',
      });
      return fileLimits().soft;
    } catch {
      // Not root, or no prlimit: try the next, smaller request.
    }
  }
  return fileLimits().soft;
}
