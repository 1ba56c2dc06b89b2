import type { RateLimit } from '@hush/protocol';
import { CONFIG_FILE_ENV, DECLARED_SETTINGS, type DeclaredSetting } from './config.schema.js';

/** The README lines that enclose the generated table; everything between them is replaced. */
export const TABLE_START =
  '<!-- Generated from apps/relay/src/config/config.schema.ts by `npm run docs:config`; edit there. -->';
export const TABLE_END = '<!-- End of the generated configuration table. -->';

const code = (text: string): string => `\`${text}\``;

const isRate = (value: unknown): value is RateLimit =>
  typeof value === 'object' && value !== null && 'events' in value && 'windowMs' in value;

/** The default column: what an operator who sets nothing gets, as they would write it. */
export function shownDefault(setting: DeclaredSetting): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  const value = setting.default;
  if (value === undefined) return 'unset';
  if (isRate(value)) return code(`${value.events}/${value.windowMs}`);
  if (typeof value === 'object' && value !== null) {
    throw new Error(`${setting.path}: a ${typeof value} default needs a shownDefault`);
  }
  return code(String(value as string | number | boolean));
}

function row(cells: readonly string[]): string {
  for (const cell of cells) {
    if (/[|\n]/.test(cell)) throw new Error(`a table cell cannot hold "|" or a newline: ${cell}`);
  }
  return `|${cells.map((cell) => (cell === '' ? ' |' : ` ${cell} |`)).join('')}`;
}

/** The README's Configuration table: `HUSH_CONFIG`, then every declared setting in order. */
export function configTable(): string {
  return [
    row(['variable', 'YAML key', 'default', 'meaning']),
    row(['---', '---', '---', '---']),
    row([code(CONFIG_FILE_ENV), '', 'unset', 'path of the YAML file (same as `--config`)']),
    ...DECLARED_SETTINGS.map((setting) =>
      row([code(setting.env), code(setting.path), shownDefault(setting), setting.doc]),
    ),
  ].join('\n');
}

/** The table currently between the markers of `readme`. */
export function tableIn(readme: string): string {
  const start = readme.indexOf(`${TABLE_START}\n\n`);
  const end = readme.indexOf(`\n\n${TABLE_END}`, start);
  if (start < 0 || end < 0) throw new Error('the README has no configuration table markers');
  return readme.slice(start + TABLE_START.length + 2, end);
}

/** `readme` with the table between the markers regenerated. */
export function withConfigTable(readme: string): string {
  const current = `${TABLE_START}\n\n${tableIn(readme)}\n\n${TABLE_END}`;
  return readme.replace(current, () => `${TABLE_START}\n\n${configTable()}\n\n${TABLE_END}`);
}
