import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { DEFAULT_SERVER, parseWebOrigin, relayUrl, webOrigin } from './server-url.js';

describe('relayUrl', () => {
  it('keeps ws and wss URLs', () => {
    expect(relayUrl(DEFAULT_SERVER)).toBe('ws://localhost:8080/ws');
    expect(relayUrl('wss://chat.example.com/ws')).toBe('wss://chat.example.com/ws');
  });

  it('turns http(s) into ws(s) and adds /ws to a bare host', () => {
    expect(relayUrl('https://chat.example.com')).toBe('wss://chat.example.com/ws');
    expect(relayUrl('http://127.0.0.1:8080/')).toBe('ws://127.0.0.1:8080/ws');
    expect(relayUrl('ws://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws');
  });

  it('refuses what is not a relay URL', () => {
    expect(() => relayUrl('localhost')).toThrow(UsageError);
    expect(() => relayUrl('ftp://host/ws')).toThrow(/scheme/);
    expect(() => relayUrl('ws://host/ws#x')).toThrow(/fragment/);
  });
});

describe('webOrigin', () => {
  it('derives the web client origin from the relay URL', () => {
    expect(webOrigin('ws://h:1234/ws')).toBe('http://h:1234');
    expect(webOrigin('wss://chat.example.com/ws')).toBe('https://chat.example.com');
    expect(webOrigin('wss://example.com/hush/ws')).toBe('https://example.com/hush');
  });
});

describe('parseWebOrigin', () => {
  it('accepts http(s) origins with an optional path, without trailing slashes', () => {
    expect(parseWebOrigin('https://chat.example.com/')).toBe('https://chat.example.com');
    expect(parseWebOrigin('http://h:8080/app/')).toBe('http://h:8080/app');
  });

  it('refuses queries, fragments and other schemes', () => {
    expect(() => parseWebOrigin('https://h/?x=1')).toThrow(UsageError);
    expect(() => parseWebOrigin('https://h/#/join')).toThrow(UsageError);
    expect(() => parseWebOrigin('ws://h')).toThrow(/http or https/);
  });
});
