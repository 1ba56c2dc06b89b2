/** The one thing Hush ever writes to the browser's storage, and only when asked to. */
export const NICKNAME_STORAGE_KEY = 'hush.nickname';

export interface NicknameMemory {
  /** The remembered nickname, if the user asked for it to be remembered. */
  recall(): string | undefined;
  remember(name: string): void;
  forget(): void;
}

/**
 * Nickname memory over a `Storage` (localStorage). Storage can be unavailable (private modes,
 * disabled cookies) or full; then nothing is remembered and the app works on.
 */
export function nicknameMemory(storage: () => Storage | undefined): NicknameMemory {
  const attempt = <T>(action: (s: Storage) => T): T | undefined => {
    try {
      const target = storage();
      return target === undefined ? undefined : action(target);
    } catch (error) {
      console.warn('hush: browser storage is not available', error);
      return undefined;
    }
  };
  return {
    recall: () => attempt((s) => s.getItem(NICKNAME_STORAGE_KEY) ?? undefined),
    remember: (name) => attempt((s) => s.setItem(NICKNAME_STORAGE_KEY, name)),
    forget: () => attempt((s) => s.removeItem(NICKNAME_STORAGE_KEY)),
  };
}
