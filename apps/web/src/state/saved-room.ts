import { fromBase64Url, parseShareCode, toBase64Url } from '@hush/crypto';
import type { ShareCode } from '@hush/crypto';

/**
 * The one thing kept in the tab's `sessionStorage`, so that a reload rejoins the same room: the
 * share code (room id and key), the nickname, the password hash and this tab's signing key (so
 * others do not see our key change). `sessionStorage` belongs to the tab: the browser drops it
 * when the tab closes, and Hush removes it on Leave and when the room ends.
 */
export const SAVED_ROOM_STORAGE_KEY = 'hush.room';

export interface SavedRoom {
  code: ShareCode;
  name: string;
  /** `hashRoomPassword` output, '' for none. */
  passwordHash: string;
  /** Ed25519 seed and public key of this tab's signing key, when it has one. */
  signing?: { seed: Uint8Array; publicKey: Uint8Array };
}

export interface RoomMemory {
  load(): SavedRoom | undefined;
  save(room: SavedRoom): void;
  clear(): void;
}

interface Stored {
  v: 1;
  code: string;
  name: string;
  passwordHash: string;
  seed?: string;
  publicKey?: string;
}

/**
 * Room memory over a `Storage` (sessionStorage). Unavailable or full storage means no reload
 * survival, never a failure; an unreadable record is removed.
 */
export function roomMemory(storage: () => Storage | undefined): RoomMemory {
  const attempt = <T>(action: (s: Storage) => T): T | undefined => {
    try {
      const target = storage();
      return target === undefined ? undefined : action(target);
    } catch (error) {
      console.warn('hush: tab storage is not available', error);
      return undefined;
    }
  };
  const clear = () => attempt((s) => s.removeItem(SAVED_ROOM_STORAGE_KEY));
  return {
    load() {
      const text = attempt((s) => s.getItem(SAVED_ROOM_STORAGE_KEY));
      if (text === undefined || text === null) return undefined;
      const room = readStored(text);
      if (room === undefined) clear();
      return room;
    },
    save(room) {
      const stored: Stored = {
        v: 1,
        code: formatCode(room.code),
        name: room.name,
        passwordHash: room.passwordHash,
        ...(room.signing === undefined
          ? {}
          : {
              seed: toBase64Url(room.signing.seed),
              publicKey: toBase64Url(room.signing.publicKey),
            }),
      };
      attempt((s) => s.setItem(SAVED_ROOM_STORAGE_KEY, JSON.stringify(stored)));
    },
    clear,
  };
}

function formatCode(code: ShareCode): string {
  return `${code.roomId}:${code.key}`;
}

function readStored(text: string): SavedRoom | undefined {
  try {
    const value = JSON.parse(text) as Partial<Stored>;
    if (value.v !== 1 || typeof value.code !== 'string' || typeof value.name !== 'string') {
      return undefined;
    }
    if (typeof value.passwordHash !== 'string' || !/^([0-9a-f]{64})?$/.test(value.passwordHash)) {
      return undefined;
    }
    const code = parseShareCode(value.code);
    const signing =
      typeof value.seed === 'string' && typeof value.publicKey === 'string'
        ? { seed: fromBase64Url(value.seed), publicKey: fromBase64Url(value.publicKey) }
        : undefined;
    return {
      code: { roomId: code.roomId, key: code.key },
      name: value.name,
      passwordHash: value.passwordHash,
      ...(signing === undefined ? {} : { signing }),
    };
  } catch {
    return undefined;
  }
}
