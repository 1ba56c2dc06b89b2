import LinkifyIt from 'linkify-it';

/** A run of message text: plain, or a web address to show as a link. */
export type TextPart =
  { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const linkify = new LinkifyIt({}, { fuzzyEmail: false, fuzzyIP: false });

/**
 * Splits message text into plain runs and http(s) links. Only web addresses become links (no
 * `mailto:`, `ftp:`, `javascript:`); bare domains such as `example.com` get `https://`.
 */
export function linkParts(text: string): TextPart[] {
  const matches = linkify.match(text) ?? [];
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of matches) {
    const href = match.url.startsWith('//') ? `https:${match.url}` : match.url;
    if (!/^https?:\/\//i.test(href)) continue;
    if (match.index > at) parts.push({ kind: 'text', text: text.slice(at, match.index) });
    parts.push({
      kind: 'link',
      text: match.raw,
      href: match.schema === '' ? `https://${match.raw}` : href,
    });
    at = match.lastIndex;
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}
