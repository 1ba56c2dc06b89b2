import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { alternativeFileName, sanitizeFileName } from '@hush/client';
import { MAX_FILE_BYTES } from '@hush/crypto';

/** MIME types by extension, for what `/send` offers (receivers show them, Arthas makes previews). */
const MIME_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.mp3': 'audio/mpeg',
  '.webm': 'audio/webm',
  '.mp4': 'video/mp4',
};

/** A file read for `/send`, or why it cannot be sent. */
export type FileToSend =
  { ok: true; name: string; type: string; data: Uint8Array } | { ok: false; reason: string };

/** Reads a local file to send: a regular, non-empty file of at most 5 MiB. */
export async function readFileToSend(path: string): Promise<FileToSend> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) return { ok: false, reason: `${path} is not a file.` };
    size = info.size;
  } catch (error) {
    return { ok: false, reason: `Cannot read ${path}: ${describe(error)}.` };
  }
  if (size === 0) return { ok: false, reason: `${path} is empty; there is nothing to send.` };
  if (size > MAX_FILE_BYTES) {
    return {
      ok: false,
      reason: `${path} is larger than 5 MiB, the most a Hush or Arthas client takes.`,
    };
  }
  try {
    const data = new Uint8Array(await readFile(path));
    const name = basename(path);
    return {
      ok: true,
      name,
      type: MIME_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
      data,
    };
  } catch (error) {
    return { ok: false, reason: `Cannot read ${path}: ${describe(error)}.` };
  }
}

/** Attempts at a free name (`photo (1).jpg` …) before giving up. */
const MAX_NAME_ATTEMPTS = 1000;

/**
 * Writes a received file into `directory` (created if missing) under its sanitised name, never
 * overwriting anything: a taken name gets ` (1)`, ` (2)` … before the extension. Files are
 * readable by their owner only. Resolves with the path written.
 */
export async function saveReceivedFile(
  directory: string,
  name: string,
  data: Uint8Array,
): Promise<string> {
  await mkdir(directory, { recursive: true });
  const safe = sanitizeFileName(name);
  for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
    const path = join(directory, attempt === 0 ? safe : alternativeFileName(safe, attempt));
    try {
      // 'wx' fails if the name exists, atomically: nothing is ever overwritten.
      await writeFile(path, data, { flag: 'wx', mode: 0o600 });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`${MAX_NAME_ATTEMPTS} files named like ${safe} exist already`);
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
