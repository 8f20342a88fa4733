/**
 * The `kmsRsa` sealed input (docs/api.md "Inputs sealed to a KMS RSA public key"): for producers
 * that cannot call KMS. A 64-byte secret (AES-256 key || HMAC-SHA-256 key) is wrapped with
 * RSAES-OAEP-SHA-256 (MGF1-SHA-256, empty label) under the public key of a KMS RSA key, which only
 * KMS can undo (`Decrypt` with `EncryptionAlgorithm: RSAES_OAEP_SHA_256`). The value is encrypted
 * with AES-256-CTR and authenticated, with the operation it is for, by HMAC-SHA-256
 * (encrypt-then-MAC).
 *
 * Why CTR + HMAC and not AES-GCM: a producer must be able to make an input with the OpenSSL command
 * line alone, and `openssl enc` refuses AEAD ciphers; `openssl enc -aes-256-ctr` and
 * `openssl mac HMAC` are both available (OpenSSL 3.0 and later).
 *
 * Layout (all lengths in bytes, integers big-endian):
 *   0        1   version, 0x01
 *   1        32  key id: SHA-256 of the KMS key's SubjectPublicKeyInfo (DER, as GetPublicKey returns it)
 *   33       2   n, length of the wrapped secret (the RSA modulus size: 256, 384 or 512)
 *   35       n   wrapped secret
 *   35+n     16  AES-256-CTR initial counter block (random per message)
 *   51+n     m   ciphertext
 *   end-32   32  tag = HMAC-SHA-256(mac key, label || 0x00 || every byte before the tag)
 * label is the HPKE `info` of the same operation, `enclavekit/v1/<purpose>[/<field>]`
 * (shared/hpke/suite.ts), so a value sealed for one operation fails the tag under any other.
 *
 * One wrapped secret may serve many messages (each with its own counter block): the enclave then
 * needs one KMS call per secret, not per message, which keeps offline producers within the KMS
 * request quota of RSA keys.
 */
import { createCipheriv, createHash, createPublicKey, constants, publicEncrypt, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { cipherKey } from '../crypto/cipher-key.js';
import { hmac } from '../crypto/hmac.js';
import { InputError } from '../errors.js';
import { sealedInputInfo } from '../hpke/suite.js';

export const KMS_RSA_VERSION = 0x01;
export const KMS_RSA_KEY_ID_BYTES = 32;
export const KMS_RSA_IV_BYTES = 16;
export const KMS_RSA_TAG_BYTES = 32;
/** AES-256 key (32) || HMAC-SHA-256 key (32). */
export const KMS_RSA_SECRET_BYTES = 64;
/** RSA_2048, RSA_3072, RSA_4096: the KMS RSA key specs that can encrypt. */
export const KMS_RSA_WRAPPED_LENGTHS: readonly number[] = [256, 384, 512];
const HEADER_FIXED = 1 + KMS_RSA_KEY_ID_BYTES + 2;
const ZERO_BYTE = new Uint8Array([0]);

export interface KmsRsaSealedParts {
  keyId: Uint8Array;
  wrappedSecret: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
  /** Every byte the tag covers after the label. */
  authenticated: Uint8Array;
}

/** Splits a `kmsRsa` input; shape errors are ERR_SEALED_INPUT_MALFORMED, a ciphertext over `maxPlaintextBytes` ERR_BODY_TOO_LARGE. */
export function parseKmsRsaSealed(bytes: Uint8Array, maxPlaintextBytes: number): KmsRsaSealedParts {
  if (bytes.byteLength < HEADER_FIXED) throw malformed('shorter than its header');
  if (bytes[0] !== KMS_RSA_VERSION) throw malformed('unknown version byte');
  const n = (bytes[33]! << 8) | bytes[34]!;
  if (!KMS_RSA_WRAPPED_LENGTHS.includes(n)) throw malformed('wrapped secret length must be 256, 384 or 512');
  const ivAt = HEADER_FIXED + n;
  const ctAt = ivAt + KMS_RSA_IV_BYTES;
  const tagAt = bytes.byteLength - KMS_RSA_TAG_BYTES;
  if (tagAt < ctAt) throw malformed('too short for its wrapped secret, counter block and tag');
  if (tagAt - ctAt > maxPlaintextBytes) throw new InputError('ERR_BODY_TOO_LARGE', `kmsRsa ciphertext exceeds ${maxPlaintextBytes} bytes`);
  return {
    keyId: bytes.subarray(1, 1 + KMS_RSA_KEY_ID_BYTES),
    wrappedSecret: bytes.subarray(HEADER_FIXED, ivAt),
    iv: bytes.subarray(ivAt, ctAt),
    ciphertext: bytes.subarray(ctAt, tagAt),
    tag: bytes.subarray(tagAt),
    authenticated: bytes.subarray(0, tagAt),
  };
}

/** The tag over `label || 0x00 || authenticated`; `macKey` is the secret's second half. */
export function kmsRsaTag(macKey: Uint8Array, purpose: string, field: string | undefined, authenticated: Uint8Array): Buffer {
  return hmac('sha256', macKey, [Buffer.from(sealedInputInfo(purpose, field), 'utf8'), ZERO_BYTE, authenticated]);
}

/** Constant-time tag check (the secret-dependent comparison must not leak where it differs). */
export function kmsRsaTagMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.byteLength === received.byteLength && timingSafeEqual(expected, received);
}

/**
 * AES-256-CTR both ways (a stream cipher: the same call encrypts and decrypts). The result is a
 * fresh buffer of its own (not a slice of Node's shared pool), and the cipher's intermediate
 * chunks are zeroed: in the enclave they hold plaintext.
 */
export function kmsRsaCtr(encKey: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const cipher = createCipheriv('aes-256-ctr', cipherKey(encKey), iv);
  const chunks = [cipher.update(data), cipher.final()];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
    chunk.fill(0);
  }
  return out;
}

/** A KMS RSA public key from `GetPublicKey`: DER SubjectPublicKeyInfo, or the same in PEM. */
export function kmsRsaPublicKey(spkiDerOrPem: Uint8Array | string): { key: KeyObject; keyId: Buffer; modulusBytes: number } {
  const text = typeof spkiDerOrPem === 'string' ? spkiDerOrPem : Buffer.from(spkiDerOrPem).toString('latin1');
  const key = text.includes('-----BEGIN PUBLIC KEY-----')
    ? createPublicKey({ key: text, format: 'pem' })
    : createPublicKey({ key: Buffer.from(spkiDerOrPem as Uint8Array), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'rsa') throw new RangeError('the KMS public key must be an RSA key');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!KMS_RSA_WRAPPED_LENGTHS.includes(bits / 8)) throw new RangeError('the KMS public key must be RSA 2048, 3072 or 4096');
  const der = key.export({ format: 'der', type: 'spki' });
  return { key, keyId: createHash('sha256').update(der).digest(), modulusBytes: bits / 8 };
}

/** A wrapped secret and its plaintext, for sealing any number of messages (zero with `dispose`). */
export interface KmsRsaWrappedSecret {
  keyId: Uint8Array;
  wrappedSecret: Uint8Array;
  secret: Uint8Array;
}

export function wrapKmsRsaSecret(publicKey: KeyObject, keyId: Uint8Array): KmsRsaWrappedSecret {
  const secret = new Uint8Array(randomBytes(KMS_RSA_SECRET_BYTES));
  // RSAES-OAEP with SHA-256 for both the hash and MGF1 (Node uses oaepHash for both), empty label:
  // KMS's RSAES_OAEP_SHA_256 (AWS KMS docs, "Asymmetric key specs", RSA key specs for encryption).
  const wrappedSecret = new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
  return { keyId: Uint8Array.from(keyId), wrappedSecret, secret };
}

/** One `kmsRsa` input under `wrapped`, for `purpose` (and `field`). */
export function sealKmsRsaMessage(wrapped: KmsRsaWrappedSecret, plaintext: Uint8Array, purpose: string, field?: string): Uint8Array<ArrayBuffer> {
  const n = wrapped.wrappedSecret.byteLength;
  const iv = randomBytes(KMS_RSA_IV_BYTES);
  const ciphertext = kmsRsaCtr(wrapped.secret.subarray(0, 32), iv, plaintext);
  const out = new Uint8Array(HEADER_FIXED + n + KMS_RSA_IV_BYTES + ciphertext.byteLength + KMS_RSA_TAG_BYTES);
  out[0] = KMS_RSA_VERSION;
  out.set(wrapped.keyId, 1);
  out[33] = n >> 8;
  out[34] = n & 0xff;
  out.set(wrapped.wrappedSecret, HEADER_FIXED);
  out.set(iv, HEADER_FIXED + n);
  out.set(ciphertext, HEADER_FIXED + n + KMS_RSA_IV_BYTES);
  const tagAt = out.byteLength - KMS_RSA_TAG_BYTES;
  out.set(kmsRsaTag(wrapped.secret.subarray(32), purpose, field, out.subarray(0, tagAt)), tagAt);
  return out;
}

function malformed(rule: string): InputError {
  return new InputError('ERR_SEALED_INPUT_MALFORMED', `kmsRsa: ${rule}`);
}
