import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { WriteCoalescer, WsTransport } from './ws-transport.js';

/** The part of a TCP socket the coalescer uses, recording what it was asked. */
class FakeRaw {
  writableLength = 0;
  corks = 0;
  uncorks = 0;
  cork(): void {
    this.corks++;
  }
  uncork(): void {
    this.uncorks++;
  }
  get corked(): boolean {
    return this.corks > this.uncorks;
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('write coalescing', () => {
  it("corks each socket once per event-loop turn and uncorks it when the turn's writes are done", async () => {
    const writes = new WriteCoalescer();
    const a = new FakeRaw();
    const b = new FakeRaw();
    for (let i = 0; i < 5; i++) writes.hold(a as unknown as Socket);
    writes.hold(b as unknown as Socket);
    expect([a.corks, a.uncorks, b.corks, b.uncorks]).toEqual([1, 0, 1, 0]);
    await nextTurn();
    expect([a.corks, a.uncorks, b.corks, b.uncorks]).toEqual([1, 1, 1, 1]);
    writes.hold(a as unknown as Socket);
    expect(a.corks).toBe(2);
    await nextTurn();
    expect(a.uncorks).toBe(2);
  });

  it('holds a ping with the frames written after it in the same turn', async () => {
    const raw = new FakeRaw();
    /** For each frame the WebSocket wrote: was the TCP socket corked at that moment? */
    const written: [string, boolean][] = [];
    const socket = {
      readyState: 1,
      ping: () => written.push(['ping', raw.corked]),
      send: () => written.push(['Ping', raw.corked]),
    };
    const transport = new WsTransport(
      socket as unknown as WebSocket,
      raw as unknown as Socket,
      new WriteCoalescer(),
    );
    transport.ping();
    transport.send(new Uint8Array([1]));
    expect(written).toEqual([
      ['ping', true],
      ['Ping', true],
    ]);
    expect(raw.corks).toBe(1);
    await nextTurn();
    expect(raw.uncorks).toBe(1);
  });

  it('reports the bytes unsent from before this turn, not what this turn queued', async () => {
    const writes = new WriteCoalescer();
    const raw = new FakeRaw();
    raw.writableLength = 300;
    expect(writes.backlogOf(raw as unknown as Socket)).toBe(300);
    writes.hold(raw as unknown as Socket);
    raw.writableLength = 5_000; // this turn's fan-out, held back by the cork
    expect(writes.backlogOf(raw as unknown as Socket)).toBe(300);
    await nextTurn();
    expect(writes.backlogOf(raw as unknown as Socket)).toBe(5_000);
  });
});
