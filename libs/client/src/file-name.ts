/** Longest file name produced, in UTF-8 bytes (what common file systems allow). */
export const MAX_SAFE_FILE_NAME_BYTES = 255;

/** Names Windows reserves for devices, in any case and with any extension. */
const RESERVED = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?$/i;

/**
 * Characters never kept in a file name from someone else: path separators, characters Windows
 * refuses, control characters and bidirectional overrides (which could disguise an extension).
 */
const UNSAFE = /[/\\:*?"<>|\p{Cc}\u202A-\u202E\u2066-\u2069]/gu;

/**
 * A file name from another member made safe to create in a download directory: its last path
 * component only, no separators or control characters, no leading dots (no hidden files, never `.` or
 * `..`), no trailing dots or spaces, not a Windows device name, at most
 * {@link MAX_SAFE_FILE_NAME_BYTES} UTF-8 bytes (cut before the extension, keeping it), and never
 * empty (`file`).
 */
export function sanitizeFileName(name: string): string {
  const base =
    name
      .split(/[/\\]/)
      .filter((part) => part !== '')
      .at(-1) ?? '';
  let safe = base.replace(UNSAFE, '_').trim();
  safe = safe.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (safe === '') safe = 'file';
  if (RESERVED.test(safe)) safe = `_${safe}`;
  return truncateUtf8(safe, MAX_SAFE_FILE_NAME_BYTES);
}

/**
 * The name to try after `name` was taken: `photo.jpg` → `photo (1).jpg`, `photo (2).jpg` …
 * `attempt` counts from 1.
 */
export function alternativeFileName(name: string, attempt: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const suffix = ` (${attempt})`;
  const room = MAX_SAFE_FILE_NAME_BYTES - utf8Length(suffix + extension);
  return `${truncateUtf8(stem, Math.max(1, room))}${suffix}${extension}`;
}

function truncateUtf8(name: string, maxBytes: number): string {
  if (utf8Length(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const stem = extension === '' ? name : name.slice(0, dot);
  let kept = '';
  for (const char of stem) {
    if (utf8Length(kept + char + extension) > maxBytes) break;
    kept += char;
  }
  return `${kept}${extension}`;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
