/** The relay's WebSocket endpoint next to the page: `/ws` at the root, `<base>/ws` elsewhere. */
export function relaySocketUrl(pageUrl: string): string {
  const url = new URL('ws', pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The base a join link is built on: the page's origin and directory, no query or fragment. */
export function linkBase(pageUrl: string): string {
  const url = new URL('.', pageUrl);
  return `${url.origin}${url.pathname}`;
}

/** True for addresses only this computer can open: `localhost`, 127.0.0.0/8, `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Where join links should point. A page opened on this computer (`localhost`) would hand out
 * links no other device can open, so the relay's public URL (`HUSH_PUBLIC_URL`) is used then,
 * when one is configured; otherwise the page's own address.
 */
export function invitationBase(pageUrl: string, publicUrl: string | undefined): string {
  const own = linkBase(pageUrl);
  if (publicUrl === undefined || !isLoopbackHost(new URL(pageUrl).hostname)) return own;
  return linkBase(publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
}
