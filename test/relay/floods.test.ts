/**
 * Floods a single anonymous client could send, against a real relay: file-transfer control
 * messages that had no budget, acks, and reconnecting senders that used to reset every budget by
 * opening a new connection. Each must be refused (E004) while the room's other members are served.
 */
import type { ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import {
  all,
  b64,
  connect,
  connectAndCreate,
  connectAndJoin,
  join,
  metric,
  scrape,
  sleep,
  waitFor,
} from './helpers.js';

const relays: RunningRelay[] = [];
const clients: TestClient[] = [];

async function relay(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<string> {
  const started = await startTestRelay(overrides);
  relays.push(started);
  return started.url;
}

function track<T extends { client: TestClient } | TestClient>(value: T): T {
  clients.push('client' in value ? value.client : value);
  return value;
}

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(relays.map((r) => r.stop()));
});

/** Waits until `client` has received `count` Errors, then returns their codes. */
async function errorCodes(client: TestClient, count: number): Promise<string[]> {
  await waitFor(
    client,
    (received) => received.filter((m) => m.type === ServerType.Error).length >= count || undefined,
    `${count} errors`,
  );
  return all(client, ServerType.Error).map((e) => e.data.code);
}

describe('file-transfer floods', () => {
  it('refuses a SendFileMeta + SendFileCancel flood with E004 past the budgets, relaying only what fits', async () => {
    const url = await relay();
    const alice = track(await connectAndCreate(url, 'alice'));
    const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
    const ciphertext = b64(16 * 1024);
    for (let i = 0; i < 200; i++) {
      const transferId = `flood-${i}`;
      bob.client.send({
        type: ClientType.SendFileMeta,
        data: { transferId, iv: 'iv', ciphertext },
      });
      bob.client.send({ type: ClientType.SendFileCancel, data: { transferId } });
    }
    // A marker after the flood: once alice has it, everything relayed before it has arrived.
    bob.client.send({ type: ClientType.Typing, data: { typing: true } });
    await alice.client.next(ServerType.MemberTyping);
    const metas = all(alice.client, ServerType.RelayFileMeta).length;
    const cancels = all(alice.client, ServerType.RelayFileCancel).length;
    expect(metas).toBeLessThanOrEqual(10); // RATE_LIMITS.fileMeta
    expect(cancels).toBeLessThanOrEqual(20); // RATE_LIMITS.fileControl
    const codes = all(bob.client, ServerType.Error).map((e) => e.data.code);
    expect(codes).toContain(ErrorCode.RateLimited);
    const text = await scrape(url);
    expect(metric(text, 'hush_rate_limit_hits_total', { kind: 'fileMeta' })).toBeGreaterThan(0);
  });

  it('refuses a SendFileAck flood with E004 past the ack budget', async () => {
    const url = await relay();
    const alice = track(await connectAndCreate(url, 'alice'));
    const bob = track(await connectAndJoin(url, alice.roomId, 'bob'));
    alice.client.send({
      type: ClientType.SendFileMeta,
      data: { transferId: 'real', iv: 'iv', ciphertext: 'meta' },
    });
    await bob.client.next(ServerType.RelayFileMeta);
    for (let i = 0; i < 300; i++) {
      bob.client.send({ type: ClientType.SendFileAck, data: { transferId: 'real' } });
    }
    const codes = await errorCodes(bob.client, 250);
    expect(new Set(codes)).toEqual(new Set([ErrorCode.RateLimited]));
    bob.client.send({ type: ClientType.Typing, data: { typing: true } });
    await alice.client.next(ServerType.MemberTyping);
    expect(all(alice.client, ServerType.RelayFileAck)).toHaveLength(50); // RATE_LIMITS.fileAck
  });
});

describe('reconnecting senders', () => {
  it('hold one address to its chat budget, however many connections it opens', async () => {
    const budget = 30;
    const url = await relay({
      limits: { addressRate: { chat: { events: budget, windowMs: 60_000 } } },
    });
    // The room's owner watches; the flood comes from one address through many connections.
    const owner = track(await connectAndCreate(url, 'owner'));
    const workers = 12;
    for (let w = 0; w < workers; w++) {
      const worker = track(await connect(url));
      await join(worker, owner.roomId, `worker${w}`);
      for (let i = 0; i < 10; i++) {
        worker.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: `w${w}-${i}` } });
      }
      worker.send({ type: ClientType.LeaveRoom, data: {} });
    }
    await sleep(300);
    const relayed = all(owner.client, ServerType.RelayMessage).length;
    // Without the address budget each connection would have brought 10 (120 in all).
    expect(relayed).toBeLessThanOrEqual(budget);
    expect(relayed).toBeGreaterThanOrEqual(budget - 1);
    const text = await scrape(url);
    expect(metric(text, 'hush_rate_limit_hits_total', { kind: 'address_chat' })).toBeGreaterThan(0);
  });

  it('hold one address to its room-request budget across connections', async () => {
    const url = await relay({
      limits: { addressRate: { join: { events: 6, windowMs: 60_000 } } },
    });
    let created = 0;
    let refused = 0;
    for (let c = 0; c < 5; c++) {
      const client = track(await connect(url));
      for (let i = 0; i < 3; i++) {
        client.send({
          type: ClientType.CreateRoom,
          data: { name: `maker${c}-${i}`, password: '', ephemeral: 0, expiry: 0 },
        });
        const answers = (received: readonly ServerMessage[]) =>
          received.filter((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error);
        const answer = await waitFor(client, (received) => answers(received)[i], 'an answer');
        if (answer.type === ServerType.Error) {
          expect(answer.data.code).toBe(ErrorCode.RateLimited);
          refused++;
        } else {
          created++;
        }
        client.send({ type: ClientType.LeaveRoom, data: {} });
        await sleep(5);
      }
      await client.close();
    }
    expect(created).toBe(6);
    expect(refused).toBe(9);
  });

  it('lock an address out after repeated failed joins, whatever connection it uses next', async () => {
    const url = await relay({ lockout: { maxFailures: 3, windowMs: 60_000, durationMs: 60_000 } });
    const room = track(await connectAndCreate(url, 'owner'));
    for (let i = 0; i < 3; i++) {
      const guesser = track(await connect(url));
      guesser.send({
        type: ClientType.JoinRoom,
        data: { roomId: 'x'.repeat(21), name: 'guess', password: '' },
      });
      expect((await guesser.next(ServerType.Error)).data.code).toBe(ErrorCode.RoomNotFound);
      await guesser.close();
    }
    const fresh = track(await connect(url));
    fresh.send({
      type: ClientType.JoinRoom,
      data: { roomId: room.roomId, name: 'late', password: '' },
    });
    const error = await fresh.next(ServerType.Error);
    expect(error.data.code).toBe(ErrorCode.LockedOut);
    expect(error.data.msg).toMatch(/try again/);
    const text = await scrape(url);
    expect(metric(text, 'hush_lockouts_total')).toBe(1);
  });
});
