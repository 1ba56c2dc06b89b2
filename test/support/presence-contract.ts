/**
 * What every presence adapter must do, written once and run against each (memory and Redis):
 * the admission rules of the port, seen from the replicas of one cluster. Rooms that expire are
 * created with their expiry already past, so no test waits for a clock.
 */
import type { Member } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PasswordChecker } from '../../apps/relay/src/core/room/password-check.js';
import type {
  AdmissionCode,
  PresencePort,
  RoomSettings,
  RoomSnapshot,
} from '../../apps/relay/src/cluster/presence.port.js';
import { AdmissionError } from '../../apps/relay/src/cluster/presence.port.js';

/** Replicas sharing one presence store; each test gets a cluster of its own. */
export interface PresenceCluster {
  /** A new replica of this cluster, ready to admit. */
  replica(replicaId: string): Promise<PresencePort>;
  /** Releases whatever the cluster holds (replicas a test already closed included). */
  dispose(): Promise<void>;
}

/**
 * The cheapest scrypt cost the relay accepts back from a store: the contract is about the rules,
 * not the KDF, and the default cost would make every password test slow.
 */
export function testPasswords(): PasswordChecker {
  return new PasswordChecker({ ln: 10, r: 8, p: 1 });
}

/** A client's password hash as it arrives (the SHA-256 hex of what the user typed). */
export const PASSWORD = 'a'.repeat(64);
export const OTHER_PASSWORD = 'b'.repeat(64);
export const CAPACITY = 3;

export function member(id: string, name = `name-${id}`): Member {
  return { id, name, color: '#3366cc' };
}

export function settings(overrides: Partial<RoomSettings> = {}): RoomSettings {
  return { ephemeral: 0, expiresAt: 0, passwordHash: '', ...overrides };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The admission code `attempt` is refused with, or 'admitted'. */
export async function outcome(attempt: Promise<RoomSnapshot>): Promise<AdmissionCode | 'admitted'> {
  try {
    await attempt;
    return 'admitted';
  } catch (error) {
    if (error instanceof AdmissionError) return error.code;
    throw error;
  }
}

/** Member ids of a snapshot, sorted: the port promises who is in the room, not an order. */
export function ids(snapshot: RoomSnapshot): string[] {
  return snapshot.members.map((m) => m.id).sort();
}

export function describePresenceContract(adapter: string, makeCluster: () => PresenceCluster) {
  describe(`${adapter} presence, as every presence adapter`, () => {
    let cluster: PresenceCluster;
    let a: PresencePort;
    let b: PresencePort;

    beforeEach(async () => {
      cluster = makeCluster();
      [a, b] = await Promise.all([cluster.replica('a'), cluster.replica('b')]);
    });

    afterEach(async () => {
      await cluster.dispose();
    });

    /** Who is in the room, as a probe joining it from replica b sees it (the probe leaves again). */
    async function membersOf(roomId: string, password = ''): Promise<string[]> {
      const probe = member(`probe-${Math.random().toString(36).slice(2)}`);
      const snapshot = await b.joinRoom(roomId, password, probe, 100);
      await b.leaveRoom(roomId, probe.id);
      return ids(snapshot).filter((id) => id !== probe.id);
    }

    describe('createRoom', () => {
      it('returns the room with its settings and the creator as its only member', async () => {
        const expiresAt = nowSeconds() + 3600;
        const creator = member('m1');
        const snapshot = await a.createRoom(
          'r1',
          settings({ ephemeral: 30, expiresAt }),
          creator,
          3,
        );
        expect(snapshot).toEqual({
          roomId: 'r1',
          hasPassword: false,
          ephemeral: 30,
          expiresAt,
          members: [creator],
        });
      });

      it('tells a joiner the room has a password without giving it away', async () => {
        const created = await a.createRoom(
          'r1',
          settings({ passwordHash: PASSWORD }),
          member('m1'),
          3,
        );
        const joined = await b.joinRoom('r1', PASSWORD, member('m2'), CAPACITY);
        expect(created.hasPassword).toBe(true);
        expect(joined.hasPassword).toBe(true);
        expect(JSON.stringify(joined)).not.toContain(PASSWORD);
      });

      it('refuses an id already taken, from any replica, as unavailable (E024)', async () => {
        await a.createRoom('r1', settings(), member('m1'), CAPACITY);
        expect(await outcome(b.createRoom('r1', settings(), member('m2'), CAPACITY))).toBe(
          ErrorCode.Unavailable,
        );
        expect(await membersOf('r1')).toEqual(['m1']);
      });
    });

    describe('joinRoom', () => {
      it('admits into a room made on another replica and returns everyone in it', async () => {
        await a.createRoom('r1', settings(), member('m1'), CAPACITY);
        expect(ids(await b.joinRoom('r1', '', member('m2'), CAPACITY))).toEqual(['m1', 'm2']);
        const third = await a.joinRoom('r1', '', member('m3'), CAPACITY);
        expect(third.members).toContainEqual(member('m2'));
        expect(ids(third)).toEqual(['m1', 'm2', 'm3']);
      });

      it('refuses a room that does not exist (E001)', async () => {
        expect(await outcome(a.joinRoom('nowhere', '', member('m1'), CAPACITY))).toBe(
          ErrorCode.RoomNotFound,
        );
      });

      it('admits with the right password and refuses a wrong or missing one (E006)', async () => {
        await a.createRoom('r1', settings({ passwordHash: PASSWORD }), member('m1'), CAPACITY);
        expect(await outcome(b.joinRoom('r1', OTHER_PASSWORD, member('m2'), CAPACITY))).toBe(
          ErrorCode.WrongPassword,
        );
        expect(await outcome(b.joinRoom('r1', '', member('m2'), CAPACITY))).toBe(
          ErrorCode.WrongPassword,
        );
        expect(await outcome(b.joinRoom('r1', PASSWORD, member('m2'), CAPACITY))).toBe('admitted');
      });

      it('ignores a password sent to a room that has none', async () => {
        await a.createRoom('r1', settings(), member('m1'), CAPACITY);
        expect(await outcome(b.joinRoom('r1', PASSWORD, member('m2'), CAPACITY))).toBe('admitted');
      });

      it('refuses a joiner once the room holds maxMembers, counting every replica (E002)', async () => {
        await a.createRoom('r1', settings(), member('m1'), 2);
        await b.joinRoom('r1', '', member('m2'), 2);
        expect(await outcome(a.joinRoom('r1', '', member('m3'), 2))).toBe(ErrorCode.RoomFull);
        // The capacity is the joiner's: a replica configured for more admits again.
        expect(await outcome(a.joinRoom('r1', '', member('m3'), 3))).toBe('admitted');
      });

      it('refuses a nickname whose skeleton is taken, whatever its case or look-alikes (E020)', async () => {
        await a.createRoom('r1', settings(), member('m1', 'Alice'), CAPACITY);
        for (const [id, name] of [
          ['m2', 'alice'],
          ['m3', 'ALICE'],
          ['m4', 'A1ice'],
        ] as const) {
          expect(await outcome(b.joinRoom('r1', '', member(id, name), CAPACITY)), name).toBe(
            ErrorCode.NameTaken,
          );
        }
        expect(await outcome(b.joinRoom('r1', '', member('m5', 'Alicia'), CAPACITY))).toBe(
          'admitted',
        );
      });

      it('refuses an expired room (E007) before looking at the password', async () => {
        const expiresAt = nowSeconds() - 5;
        await a.createRoom('r1', settings({ expiresAt, passwordHash: PASSWORD }), member('m1'), 3);
        expect(await outcome(b.joinRoom('r1', OTHER_PASSWORD, member('m2'), CAPACITY))).toBe(
          ErrorCode.RoomExpired,
        );
        expect(await outcome(b.joinRoom('r1', PASSWORD, member('m2'), CAPACITY))).toBe(
          ErrorCode.RoomExpired,
        );
      });

      it('checks the password before the capacity, and the capacity before the nickname', async () => {
        await a.createRoom('r1', settings({ passwordHash: PASSWORD }), member('m1', 'Alice'), 1);
        expect(await outcome(b.joinRoom('r1', OTHER_PASSWORD, member('m2', 'Alice'), 1))).toBe(
          ErrorCode.WrongPassword,
        );
        expect(await outcome(b.joinRoom('r1', PASSWORD, member('m2', 'Alice'), 1))).toBe(
          ErrorCode.RoomFull,
        );
      });
    });

    describe('leaveRoom', () => {
      it('removes the member and frees its nickname for someone else', async () => {
        await a.createRoom('r1', settings(), member('m1', 'Alice'), CAPACITY);
        await b.joinRoom('r1', '', member('m2', 'Bob'), CAPACITY);
        await b.leaveRoom('r1', 'm2');
        expect(await membersOf('r1')).toEqual(['m1']);
        expect(await outcome(a.joinRoom('r1', '', member('m3', 'bob'), CAPACITY))).toBe('admitted');
      });

      it('deletes the room with its last member: its id is unknown again (E001)', async () => {
        await a.createRoom('r1', settings(), member('m1'), CAPACITY);
        await b.joinRoom('r1', '', member('m2'), CAPACITY);
        await a.leaveRoom('r1', 'm1');
        await b.leaveRoom('r1', 'm2');
        expect(await outcome(b.joinRoom('r1', '', member('m3'), CAPACITY))).toBe(
          ErrorCode.RoomNotFound,
        );
        expect(await outcome(b.createRoom('r1', settings(), member('m3'), CAPACITY))).toBe(
          'admitted',
        );
      });

      it('remembers an expired room after its last member left, so late joiners hear E007', async () => {
        await a.createRoom('r1', settings({ expiresAt: nowSeconds() - 5 }), member('m1'), 3);
        await a.leaveRoom('r1', 'm1');
        expect(await outcome(b.joinRoom('r1', '', member('m2'), CAPACITY))).toBe(
          ErrorCode.RoomExpired,
        );
      });

      it('resolves for members and rooms it does not know, changing nothing', async () => {
        await a.createRoom('r1', settings(), member('m1'), CAPACITY);
        await expect(a.leaveRoom('r1', 'ghost')).resolves.toBeUndefined();
        await expect(b.leaveRoom('nowhere', 'm1')).resolves.toBeUndefined();
        expect(await membersOf('r1')).toEqual(['m1']);
      });
    });

    describe('close', () => {
      it("removes only the closing replica's members, and the rooms only they were in", async () => {
        await a.createRoom('shared', settings(), member('m1'), CAPACITY);
        await b.joinRoom('shared', '', member('m2'), CAPACITY);
        await a.joinRoom('shared', '', member('m3'), CAPACITY);
        await a.createRoom('alone', settings(), member('m4'), CAPACITY);
        await a.close();
        expect(await membersOf('shared')).toEqual(['m2']);
        expect(await outcome(b.joinRoom('alone', '', member('m5'), CAPACITY))).toBe(
          ErrorCode.RoomNotFound,
        );
      });

      it('reports the replica healthy until then', () => {
        expect(a.health()).toEqual({ ok: true });
        expect(b.health()).toEqual({ ok: true });
      });
    });
  });
}
