/**
 * How an enclavekit enclave publishes its HPKE public key in the attestation document's
 * `user_data` (NSM Attestation request; docs/formats.md 1.3), so that a client who verified the
 * document (PCRs) knows the key belongs to that measured code.
 *
 * Encoding (version 1): one CBOR map (RFC 8949, definite lengths, text keys in this order):
 *
 *   { "enclavekit": 1,
 *     "hpke": { "kem": 32, "kdf": 1, "aead": 2, "pk": h'<32-byte X25519 public key>' } }
 *
 * - "enclavekit" is both the magic and the format version; decoders refuse other versions.
 * - "hpke" names the RFC 9180 suite by its registry identifiers (KEM 0x0020 DHKEM(X25519,
 *   HKDF-SHA256), KDF 0x0001 HKDF-SHA256, AEAD 0x0002 AES-256-GCM) and the raw public key
 *   (RFC 9180 §7.1.1 SerializePublicKey). Unknown keys inside "hpke" are refused: a v1 client
 *   cannot know what they would change.
 * - Other top-level keys are ignored, so later boot code can add fields (say, a config hash)
 *   without breaking clients.
 * About 50 bytes, far below the 1024-byte user_data limit (LIMITS.attestationFieldMaxBytes).
 */
import { decodeCbor, encodeCbor, toSafeNumber } from '../cbor.js';
import { AttestationError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { HPKE_AEAD_ID, HPKE_KDF_ID, HPKE_KEM_ID, HPKE_PUBLIC_KEY_BYTES } from './suite.js';

export const USER_DATA_VERSION = 1;

export interface HpkeUserData {
  version: 1;
  hpke: { kem: number; kdf: number; aead: number; publicKey: Uint8Array };
}

/** The user_data bytes for an enclave whose HPKE public key is `publicKey`. */
export function encodeHpkeUserData(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== HPKE_PUBLIC_KEY_BYTES) {
    throw new RangeError(`HPKE public key must be ${HPKE_PUBLIC_KEY_BYTES} bytes`);
  }
  const hpke = new Map<string, unknown>([
    ['kem', HPKE_KEM_ID],
    ['kdf', HPKE_KDF_ID],
    ['aead', HPKE_AEAD_ID],
    ['pk', publicKey],
  ]);
  return encodeCbor(new Map<string, unknown>([['enclavekit', USER_DATA_VERSION], ['hpke', hpke]]));
}

/**
 * Reads the HPKE key from user_data. Throws AttestationError ERR_ATTESTATION_MALFORMED when the
 * bytes are not version 1 of this encoding or name another suite.
 */
export function decodeHpkeUserData(bytes: Uint8Array | null): HpkeUserData {
  if (bytes === null || bytes.length === 0) malformed('attestation user_data is empty: no HPKE key');
  if (bytes.length > LIMITS.attestationFieldMaxBytes) malformed('attestation user_data is too large');
  let root: unknown;
  try {
    root = decodeCbor(bytes);
  } catch (error) {
    malformed('attestation user_data is not CBOR', error);
  }
  if (!(root instanceof Map)) malformed('attestation user_data is not an enclavekit map');
  if (toSafeNumber(root.get('enclavekit')) !== USER_DATA_VERSION) malformed('attestation user_data has an unsupported version');
  const hpke: unknown = root.get('hpke');
  if (!(hpke instanceof Map)) malformed('attestation user_data has no HPKE entry');
  for (const key of hpke.keys()) {
    if (!['kem', 'kdf', 'aead', 'pk'].includes(key as string)) malformed('attestation user_data HPKE entry has an unknown key');
  }
  const kem = toSafeNumber(hpke.get('kem'));
  const kdf = toSafeNumber(hpke.get('kdf'));
  const aead = toSafeNumber(hpke.get('aead'));
  if (kem !== HPKE_KEM_ID || kdf !== HPKE_KDF_ID || aead !== HPKE_AEAD_ID) malformed('attestation user_data names an unsupported HPKE suite');
  const pk: unknown = hpke.get('pk');
  if (!(pk instanceof Uint8Array) || pk.length !== HPKE_PUBLIC_KEY_BYTES) malformed('attestation user_data HPKE key has the wrong size');
  return { version: 1, hpke: { kem, kdf, aead, publicKey: new Uint8Array(pk) } };
}

function malformed(message: string, cause?: unknown): never {
  throw new AttestationError('ERR_ATTESTATION_MALFORMED', message, cause === undefined ? undefined : { cause });
}
