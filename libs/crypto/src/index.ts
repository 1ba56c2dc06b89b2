export { fromBase64Url, toBase64Url } from './base64url.js';
export {
  DECRYPT_FAILED_MESSAGE,
  HushCryptoError,
  isHushCryptoError,
  type HushCryptoErrorCode,
} from './errors.js';
export {
  ROOM_KEY_BASE64URL_LENGTH,
  ROOM_KEY_BYTES,
  exportRoomKey,
  generateRoomKey,
  importRawRoomKey,
  importRoomKey,
  type RoomKey,
} from './room-key.js';
export {
  IV_BYTES,
  TAG_BYTES,
  decrypt,
  encrypt,
  open,
  seal,
  type Encrypted,
  type Sealed,
  type SealedInput,
} from './aead.js';
export { hashRoomPassword } from './password.js';
export { keyFingerprint } from './fingerprint.js';
export {
  JOIN_FRAGMENT_PREFIX,
  ROOM_ID_LENGTH,
  formatShareCode,
  joinLink,
  parseJoinInput,
  parseShareCode,
  type ShareCode,
} from './share-code.js';
export {
  MESSAGE_ID_BYTES,
  decodePayload,
  encodePayload,
  encodePlainText,
  newMessageId,
  type ChatPayload,
} from './payload.js';
export { openMessage, sealMessage } from './message.js';
