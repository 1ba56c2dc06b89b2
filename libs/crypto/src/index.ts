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
  REPLY_PREVIEW_CHARS,
  decodePayload,
  decodePayloadWithJson,
  encodePayload,
  encodePlainText,
  newMessageId,
  replyPreview,
  type ChatPayload,
  type DecodedPayload,
  type ReplyReference,
} from './payload.js';
export { openMessage, openMessageWithJson, sealMessage } from './message.js';
export {
  CANONICAL_DIALECTS,
  canonicalJson,
  signableBytes,
  type CanonicalDialect,
} from './canonical-json.js';
export {
  SIGNATURE_BYTES,
  SIGNING_PUBLIC_KEY_BYTES,
  decodePublicKey,
  encodePublicKey,
  generateSigningKeyPair,
  importSigningKeyPair,
  importVerifyingKey,
  signBytes,
  signingKeyFingerprint,
  verifyBytes,
  type SigningKeyPair,
  type VerifyingKey,
} from './signing.js';
export {
  KEY_ANNOUNCEMENT_TYPE,
  isKeyAnnouncement,
  makeKeyAnnouncement,
  type KeyAnnouncement,
  readKeyAnnouncement,
  signPayload,
  verifyPayload,
} from './signed-payload.js';
export { openTyping, sealTyping } from './typing.js';
export {
  MAX_REACTION_EMOJI_LENGTH,
  openReaction,
  sealReaction,
  type OpenedReaction,
  type ReactionPayload,
} from './reaction.js';
export {
  FILE_CHUNK_BYTES,
  MAX_FILE_BYTES,
  MAX_FILE_NAME_LENGTH,
  MAX_MIME_TYPE_LENGTH,
  MAX_THUMBNAIL_BYTES,
  chunkCount,
  chunkHash,
  openFileChunk,
  openFileMetadata,
  sealFileChunk,
  sealFileMetadata,
  type FileMetadata,
  type OpenedFileMetadata,
  type SealedFileChunk,
  type SealedFileMetadata,
} from './file-transfer.js';
export { SAFETY_CODE_GROUPS, roomSafetyCode } from './safety-code.js';
