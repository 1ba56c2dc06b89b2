import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileToSend, saveReceivedFile } from './files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hush-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('saveReceivedFile', () => {
  it('creates the directory and writes under the sanitised name, owner-only', async () => {
    const target = join(dir, 'downloads');
    const path = await saveReceivedFile(target, '../../etc/passwd', new Uint8Array([1, 2]));
    expect(path).toBe(join(target, 'passwd'));
    expect(readFileSync(path)).toEqual(Buffer.from([1, 2]));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('never overwrites: a taken name gets (1), (2) …', async () => {
    writeFileSync(join(dir, 'photo.jpg'), 'mine');
    const first = await saveReceivedFile(dir, 'photo.jpg', new Uint8Array([1]));
    const second = await saveReceivedFile(dir, 'photo.jpg', new Uint8Array([2]));
    expect([first, second]).toEqual([join(dir, 'photo (1).jpg'), join(dir, 'photo (2).jpg')]);
    expect(readFileSync(join(dir, 'photo.jpg'), 'utf8')).toBe('mine');
    expect(readdirSync(dir).sort()).toEqual(['photo (1).jpg', 'photo (2).jpg', 'photo.jpg']);
  });
});

describe('readFileToSend', () => {
  it('reads a file with its name and a MIME type from its extension', async () => {
    writeFileSync(join(dir, 'Notes.TXT'), 'hello');
    expect(await readFileToSend(join(dir, 'Notes.TXT'))).toEqual({
      ok: true,
      name: 'Notes.TXT',
      type: 'text/plain',
      data: new Uint8Array(Buffer.from('hello')),
    });
  });

  it('refuses what cannot be sent, saying why', async () => {
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(5 * 1024 * 1024 + 1));
    expect(await readFileToSend(join(dir, 'missing'))).toEqual({
      ok: false,
      reason: `Cannot read ${join(dir, 'missing')}: no such file.`,
    });
    expect(await readFileToSend(dir)).toEqual({ ok: false, reason: `${dir} is not a file.` });
    expect((await readFileToSend(join(dir, 'empty'))).ok).toBe(false);
    expect(await readFileToSend(join(dir, 'big.bin'))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('larger than 5 MiB'),
    });
  });
});
