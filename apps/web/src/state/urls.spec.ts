import { describe, expect, it } from 'vitest';
import { parseRelayConfig } from './relay-config.js';
import { invitationBase, isLoopbackHost, relaySocketUrl } from './urls.js';

describe('page and invitation addresses', () => {
  it('finds the relay next to the page', () => {
    expect(relaySocketUrl('https://chat.example/hush/#/join/x')).toBe('wss://chat.example/hush/ws');
    expect(relaySocketUrl('http://localhost:8080/')).toBe('ws://localhost:8080/ws');
  });

  it('points invitations from a page on localhost at the public URL, when there is one', () => {
    expect(invitationBase('http://localhost:8080/', 'https://192.168.1.20:8443/')).toBe(
      'https://192.168.1.20:8443/',
    );
    expect(invitationBase('http://127.0.0.1:8080/', 'https://hush.lan/chat')).toBe(
      'https://hush.lan/chat/',
    );
    expect(invitationBase('http://localhost:8080/', undefined)).toBe('http://localhost:8080/');
    // A page opened at a reachable address already is one.
    expect(invitationBase('https://hush.lan/', 'https://other.example/')).toBe('https://hush.lan/');
    expect(['localhost', '127.0.0.2', '[::1]', 'a.localhost'].every(isLoopbackHost)).toBe(true);
    expect(['192.168.1.2', 'hush.test', '::2'].some(isLoopbackHost)).toBe(false);
  });

  it('reads the relay page config and ignores what it does not expect', () => {
    expect(
      parseRelayConfig({
        publicUrl: 'https://h.example/',
        limits: { nameMaxCodePoints: 12, maxExpirySeconds: 3600 },
      }),
    ).toEqual({
      publicUrl: 'https://h.example/',
      limits: { nameMaxCodePoints: 12, maxExpirySeconds: 3600 },
    });
    expect(
      parseRelayConfig({ publicUrl: 'javascript:x', limits: { nameMaxCodePoints: -1 } }),
    ).toEqual({
      publicUrl: undefined,
      limits: {},
    });
    expect(parseRelayConfig(null)).toBeUndefined();
  });
});
