import { BlockList, isIP } from 'node:net';

/**
 * Resolves the client address of a request. Only peers in the trusted-proxy list may speak for
 * someone else: X-Forwarded-For is walked from the right, skipping trusted proxies, and the first
 * untrusted hop is the client. Without trusted proxies the socket's peer address is the client.
 */
export class ClientIpResolver {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(trustedProxies: readonly string[]) {
    this.any = trustedProxies.length > 0;
    for (const entry of trustedProxies) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(prefix), family);
    }
  }

  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    const direct = normalizeAddress(peer ?? 'unknown');
    if (!this.any || !this.isTrusted(direct)) return direct;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
    const hops = header
      .split(',')
      .map((hop) => normalizeAddress(hop.trim()))
      .filter((hop) => isIP(hop) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? direct;
  }

  /** Whether `address` is one of the trusted proxies. */
  isTrustedProxy(address: string): boolean {
    return this.any && this.isTrusted(normalizeAddress(address));
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as their IPv4 address. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
