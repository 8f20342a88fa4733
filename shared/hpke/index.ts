/** HPKE (RFC 9180) for enclavekit: suite, sealing, opening, envelopes, user_data and the client helper. */
export {
  HPKE_AEAD_ID,
  HPKE_ENC_BYTES,
  HPKE_INFO,
  HPKE_INFO_MAX_BYTES,
  HPKE_KDF_ID,
  HPKE_KEM_ID,
  HPKE_PRIVATE_KEY_BYTES,
  HPKE_PUBLIC_KEY_BYTES,
  generateHpkeKeyPair,
  hpkePublicKeyOf,
  SEALED_PURPOSES,
  sealedInputInfo,
} from './suite.js';
export type { HpkeKeyPair, SealedPurpose } from './suite.js';
export { sealHpke } from './seal.js';
export type { SealedMessage, SealOptions } from './seal.js';
export { HpkeRecipient } from './open.js';
export type { OpenedMessage, OpenOptions } from './open.js';
export { decodeSealedEnvelope, encodeSealedEnvelope, HPKE_CIPHERTEXT_MAX_BYTES } from './envelope.js';
export type { SealedEnvelope, SealedEnvelopeJson } from './envelope.js';
export { decodeHpkeUserData, encodeHpkeUserData, USER_DATA_VERSION } from './user-data.js';
export type { HpkeUserData } from './user-data.js';
export { checkStrictVerifyOptions, sealCardForEnclave, sealForEnclave } from './client.js';
export type { CardInput, SealForEnclaveOptions, SealTarget } from './client.js';
export { openDetokenized } from './detokenized.js';
export type { DetokenizeToAnswer, OpenDetokenizedOptions } from './detokenized.js';
