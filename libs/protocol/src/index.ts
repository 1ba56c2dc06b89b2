export * from './codec.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './limits.js';
export * from './message-types.js';
export * from './messages.js';
export * from './name.js';
export type { ClientLimits } from './validate.js';
export { DEFAULT_CLIENT_LIMITS, parseClientMessage, parseServerMessage } from './validate.js';
