import { describe, expect, it } from 'vitest';
import { ClientIpResolver } from './client-ip.js';

describe('ClientIpResolver', () => {
  it('uses the peer address when no proxy is trusted, ignoring X-Forwarded-For', () => {
    expect(new ClientIpResolver([]).resolve('203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  it('takes the first untrusted hop from the right behind a trusted proxy', () => {
    const ips = new ClientIpResolver(['10.0.0.0/8', '::1']);
    expect(ips.resolve('10.1.2.3', '6.6.6.6, 198.51.100.7, 10.9.9.9')).toBe('198.51.100.7');
    expect(ips.resolve('::1', '2001:db8::5')).toBe('2001:db8::5');
  });

  it('does not let an untrusted peer spoof its address', () => {
    const ips = new ClientIpResolver(['10.0.0.0/8']);
    expect(ips.resolve('203.0.113.9', '10.0.0.1')).toBe('203.0.113.9');
  });

  it('treats IPv4-mapped IPv6 peers as IPv4', () => {
    const ips = new ClientIpResolver(['127.0.0.1']);
    expect(ips.resolve('::ffff:127.0.0.1', '192.0.2.4')).toBe('192.0.2.4');
  });

  it('falls back to the peer when a trusted proxy sends no usable header', () => {
    expect(new ClientIpResolver(['127.0.0.1']).resolve('127.0.0.1', 'garbage')).toBe('127.0.0.1');
  });
});
