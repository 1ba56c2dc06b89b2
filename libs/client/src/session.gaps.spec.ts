import type { ServerMessage } from '@hush/protocol';
import { ClientType, Feature, NoticeKind, ServerType } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, harness, peer } from './fixtures/session-harness.js';

/** The notice a relay granting `gaps` sends a joiner: where members' sequences stand. */
function standing(sequences: Record<string, number>): ServerMessage {
  return {
    type: ServerType.Notice,
    data: { kind: NoticeKind.Sequences, msg: 'counts', sequences },
  };
}

/** `message` with the sequence number a relay granting `gaps` puts on it. */
function numbered(message: ServerMessage, seq: number): ServerMessage {
  if (message.type !== ServerType.RelayMessage && message.type !== ServerType.RelayReaction) {
    throw new Error('only messages and reactions are numbered');
  }
  return { ...message, data: { ...message.data, seq } } as ServerMessage;
}

describe('gap detection (feature gaps)', () => {
  it('asks for the gaps feature in Hello', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const [hello] = connection.sentOf(ClientType.Hello);
    expect(hello?.data.features).toContain(Feature.Gaps);
  });

  it('starts counting a member who was there before us at its first number, then reports what skips', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    connection.receive(numbered(await bob.message({ text: 'five' }), 5));
    connection.receive(numbered(await bob.message({ text: 'six' }), 6));
    connection.receive(
      numbered(await bob.reaction({ stableId: 'x:1', emoji: '👍', action: 'add' }), 7),
    );
    connection.receive(numbered(await bob.message({ text: 'ten' }), 10));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 2 }]);
    expect(h.of('message').map((e) => e.message.text)).toEqual(['five', 'six', 'ten']);
  });

  it('counts from 1 for a member who joined while we watched', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE]);
    connection.receive({ type: ServerType.MemberJoined, data: CAROL });
    const carol = await peer(CAROL, h.key);
    connection.receive(numbered(await carol.message({ text: 'third' }), 3));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: CAROL, missed: 2 }]);
  });

  it('counts what a member who stayed sent while we were reconnecting', async () => {
    const h = await harness();
    h.session.start();
    const first = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    first.receive(numbered(await bob.message({ text: 'one' }), 1));
    await h.settle();
    const second = await h.reconnect([ALICE, BOB]);
    second.receive(numbered(await bob.message({ text: 'four' }), 4));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 2 }]);
  });

  it('says messages may have been missed from a member who came back under a new id meanwhile', async () => {
    const h = await harness();
    h.session.start();
    await h.admit([ALICE, BOB]);
    const bob2 = { ...BOB, id: 'm-bob-2' };
    const second = await h.reconnect([ALICE, bob2]);
    const bob = await peer(bob2, h.key);
    second.receive(numbered(await bob.message({ text: 'second under the new id' }), 2));
    await h.settle();
    expect(h.of('gap')).toEqual([
      { type: 'gap', member: bob2 },
      { type: 'gap', member: bob2, missed: 1 },
    ]);
  });

  it('reports nothing from a relay that numbers nothing (an Arthas server, an older relay)', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    for (const text of ['a', 'b', 'c']) connection.receive(await bob.message({ text }));
    await h.settle();
    expect(h.of('gap')).toEqual([]);
  });

  it('counts at once, from where sequences stand as we rejoin, what a member who stayed sent meanwhile', async () => {
    const h = await harness();
    h.session.start();
    const first = await h.admit([ALICE, BOB, CAROL]);
    first.receive(standing({ [BOB.id]: 0, [CAROL.id]: 0 }));
    const bob = await peer(BOB, h.key);
    first.receive(numbered(await bob.message({ text: 'one' }), 1));
    await h.settle();
    const second = await h.reconnect([ALICE, BOB, CAROL]);
    second.receive(standing({ [BOB.id]: 3, [CAROL.id]: 2 }));
    await h.settle();
    expect(h.of('gap')).toEqual([
      { type: 'gap', member: BOB, missed: 2 },
      { type: 'gap', member: CAROL, missed: 2 },
    ]);
    second.receive(numbered(await bob.message({ text: 'four' }), 4));
    const carol = await peer(CAROL, h.key);
    second.receive(numbered(await carol.message({ text: 'three' }), 3));
    await h.settle();
    expect(h.of('gap')).toHaveLength(2);
    expect(h.of('notice')).toEqual([]);
  });

  it('takes where sequences stand on a first join as the baseline, so the first number is checked', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    connection.receive(standing({ [BOB.id]: 7, 'm-gone': 4 }));
    const bob = await peer(BOB, h.key);
    connection.receive(numbered(await bob.message({ text: 'nine' }), 9));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 1 }]);
  });

  it('counts everything a member who joined while we were away sent before we were back', async () => {
    const h = await harness();
    h.session.start();
    await h.admit([ALICE, BOB]);
    const second = await h.reconnect([ALICE, BOB, CAROL]);
    second.receive(standing({ [CAROL.id]: 2 }));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: CAROL, missed: 2 }]);
  });

  it('takes a MemberJoined for someone already in the roster as no news, and keeps its count', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    connection.receive(numbered(await bob.message({ text: 'four' }), 4));
    // Our RoomJoined was read after Bob joined; his MemberJoined reaches us after it.
    connection.receive({ type: ServerType.MemberJoined, data: BOB });
    connection.receive(numbered(await bob.message({ text: 'five' }), 5));
    await h.settle();
    expect(h.of('member-joined')).toEqual([]);
    expect(h.of('gap')).toEqual([]);
  });

  it('keeps counting a member written back under the same id after its replica lost its lease', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    connection.receive(numbered(await bob.message({ text: 'one' }), 1));
    connection.receive(numbered(await bob.message({ text: 'two' }), 2));
    // Bob's replica stalled past its lease: the others evicted him, then it wrote him back.
    connection.receive({ type: ServerType.MemberLeft, data: { id: BOB.id } });
    connection.receive({ type: ServerType.MemberJoined, data: BOB });
    connection.receive(numbered(await bob.message({ text: 'three' }), 3));
    await h.settle();
    expect(h.of('gap')).toEqual([]);
    // Still counted: a real skip after the return is reported.
    connection.receive(numbered(await bob.message({ text: 'five' }), 5));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 1 }]);
  });

  it('counts only what a member back under the same id sent while we were away too', async () => {
    const h = await harness();
    h.session.start();
    const first = await h.admit([ALICE, BOB]);
    const bob = await peer(BOB, h.key);
    first.receive(numbered(await bob.message({ text: 'one' }), 1));
    first.receive({ type: ServerType.MemberLeft, data: { id: BOB.id } });
    await h.settle();
    const second = await h.reconnect([ALICE, BOB]);
    second.receive(standing({ [BOB.id]: 3 }));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 2 }]);
  });

  it('says messages may have been missed from a member who left while we were away and came back after us', async () => {
    const h = await harness();
    h.session.start();
    const first = await h.admit([ALICE, BOB, CAROL]);
    const bob = await peer(BOB, h.key);
    first.receive(numbered(await bob.message({ text: 'one' }), 1));
    await h.settle();
    // Bob was drained with us; whatever he sent after we lost him went with his old seat.
    const second = await h.reconnect([ALICE, CAROL]);
    await h.settle();
    expect(h.of('gap')).toEqual([]);
    const bob2 = { ...BOB, id: 'm-bob-2' };
    second.receive({ type: ServerType.MemberJoined, data: bob2 });
    // Carol, who left and came back while we watched, is news only once.
    second.receive({ type: ServerType.MemberLeft, data: { id: CAROL.id } });
    second.receive({ type: ServerType.MemberJoined, data: { ...CAROL, id: 'm-carol-2' } });
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: bob2 }]);
  });

  it('starts the count of a member our RoomJoined listed when its join is heard, so a later rejoin counts', async () => {
    const h = await harness();
    h.session.start();
    // Bob was seated in the store before us but on his replica after it told us where everyone
    // stood: the notice lacks him, and his MemberJoined reaches us after our RoomJoined.
    const first = await h.admit([ALICE, BOB]);
    first.receive(standing({}));
    first.receive({ type: ServerType.MemberJoined, data: BOB });
    await h.settle();
    const second = await h.reconnect([ALICE, BOB]);
    second.receive(standing({ [BOB.id]: 2 }));
    await h.settle();
    expect(h.of('gap')).toEqual([{ type: 'gap', member: BOB, missed: 2 }]);
    expect(h.of('member-joined')).toEqual([]);
  });
});
