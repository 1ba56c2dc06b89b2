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

export const EXPIRY_CHOICES: readonly Choice[] = [
  { value: 3_600, label: '1 hour' },
  { value: 86_400, label: '24 hours' },
  { value: 604_800, label: '7 days' },
  { value: 0, label: 'Never' },
];

export const DEFAULT_EPHEMERAL = 0;
export const DEFAULT_EXPIRY = 86_400;
