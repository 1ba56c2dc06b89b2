import { DEFAULT_ROOM_EXPIRY_SECONDS } from '@hush/client';

/** Choices offered when creating a room. Values are what CreateRoom carries, in seconds. */
export interface Choice {
  value: number;
  label: string;
}

export const EPHEMERAL_CHOICES: readonly Choice[] = [
  { value: 0, label: 'Off' },
  { value: 10, label: '10 seconds' },
  { value: 30, label: '30 seconds' },
  { value: 60, label: '1 minute' },
  { value: 300, label: '5 minutes' },
];

const EXPIRY_CHOICES: readonly Choice[] = [
  { value: 0, label: 'Never (when the last member leaves)' },
  { value: 600, label: '10 minutes' },
  { value: 3_600, label: '1 hour' },
  { value: 86_400, label: '24 hours' },
  { value: 604_800, label: '7 days' },
];

/** Expiry choices within the relay's `maxExpirySeconds` (Welcome, or the page's relay config). */
export function expiryChoices(maxExpirySeconds: number): readonly Choice[] {
  return EXPIRY_CHOICES.filter((choice) => choice.value <= maxExpirySeconds);
}

export const DEFAULT_EPHEMERAL = 0;
/** The same default as every Hush client (`@hush/client`). */
export const DEFAULT_EXPIRY = DEFAULT_ROOM_EXPIRY_SECONDS;
