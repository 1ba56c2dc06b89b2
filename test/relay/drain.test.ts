/**
 * A drain as the clients live it, in-process over real WebSockets: what a client wrote before the
 * relay's close reached it is still relayed (the SDK counted it as sent the moment it was written).
 */
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import { b64, closedWithin, connectAndCreate, connectAndJoin, waitFor } from './helpers.js';

const relays: RunningRelay[] = [];

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

describe('embedded relay: drain', () => {
  it('relays the messages a member wrote before its drain close reached it, then tells the others it left', async () => {
    const relay = await startTestRelay({ server: { drainWindowMs: 0, shutdownTimeoutMs: 3000 } });
    relays.push(relay);
    // Alice connects first, so the registry drains her in the first of two batches, bob in the
    // second, half a second later: he is still there to receive what she wrote.
    const alice = await connectAndCreate(relay.url, 'alice');
    const bob = await connectAndJoin(relay.url, alice.roomId, 'bob');
    await alice.client.next(ServerType.MemberJoined);

    const written = ['first', 'second', 'third'].map((word) => `${word}-${b64(8)}`);
    for (const ciphertext of written) {
      alice.client.send({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext } });
    }
    // Same turn: the relay has not read those frames yet when it drains alice.
    const drained = relay.core.sessions.drain(2000);

    expect((await closedWithin(alice.client, 2000)).code).toBe(1001);
    const left = await waitFor(
      bob.client,
      (received) => {
        const index = received.findIndex(
          (m) => m.type === ServerType.MemberLeft && m.data.id === alice.memberId,
        );
        return index === -1 ? undefined : index;
      },
      "alice's MemberLeft",
    );
    const relayed = bob.client.received
      .slice(0, left)
      .flatMap((m) => (m.type === ServerType.RelayMessage ? [m.data] : []));
    expect(relayed.map((m) => m.ciphertext)).toEqual(written);
    expect(relayed.every((m) => m.senderId === alice.memberId)).toBe(true);

    await drained;
    expect((await closedWithin(bob.client, 2000)).code).toBe(1001);
  });
});
