/**
 * The one HPKE suite of enclavekit (RFC 9180): DHKEM(X25519, HKDF-SHA256) (KEM 0x0020),
 * HKDF-SHA256 (KDF 0x0001), AES-256-GCM (AEAD 0x0002), from the maintained @hpke/core (key
 * schedule) and @hpke/dhkem-x25519 (the KEM and its key objects), with the primitives (X25519,
 * HKDF, AES-GCM) computed by Node's crypto (node-x25519.ts, node-kdf-aead.ts).
 *
 * Keys cross our APIs as raw bytes (RFC 9180 §7.1.1 SerializePublicKey/SerializePrivateKey:
 * 32 bytes each for X25519). The CryptoKey objects of @hpke/dhkem-x25519 are plain objects holding
 * a Uint8Array copy of the raw key (`XCryptoKey.key`), which `zeroPrivateKey` overwrites.
 */
import { CipherSuite } from '@hpke/core';
import { NodeAes256Gcm, NodeHkdfSha256 } from './node-kdf-aead.js';
import { NodeDhkemX25519HkdfSha256, NodeX25519 } from './node-x25519.js';

/** RFC 9180 §7 identifiers of the suite, as published in the enclave's user_data. */
export const HPKE_KEM_ID = 0x0020;
export const HPKE_KDF_ID = 0x0001;
export const HPKE_AEAD_ID = 0x0002;
export const HPKE_PUBLIC_KEY_BYTES = 32;
export const HPKE_PRIVATE_KEY_BYTES = 32;
/** Nenc for DHKEM(X25519). */
export const HPKE_ENC_BYTES = 32;
/** AES-GCM tag length: the smallest possible ciphertext. */
export const HPKE_TAG_BYTES = 16;

/**
 * Versioned `info` strings (RFC 9180 §5.1 key schedule input). Every sealed input names the
 * operation it is for, and where one exists the field, in its `info`: a message sealed for one
 * operation (or one field) fails to open as input to any other (docs/security.md "Operation
 * binding"). The same names are the ESDK encryption-context `purpose` values, so both formats bind
 * alike. Bump the version to change any payload format.
 */
export const SEALED_PURPOSES = ['card', 'pii-text', 'pii-value'] as const;
/** `card`: JSON `{"pan","exp","cvc"?,"name"?}`; `pii-text`: UTF-8 text; `pii-value`: one UTF-8 value of a named field. */
export type SealedPurpose = (typeof SEALED_PURPOSES)[number];

const PURPOSE_NAME = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$/;
const FIELD_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * The `info` of a sealed input: `enclavekit/v1/<purpose>` or `enclavekit/v1/<purpose>/<field>`.
 * `purpose` is one of SEALED_PURPOSES or a custom handler's own purpose name (never a built-in
 * one, or its inputs could be replayed to the built-in operation); `pii-value` requires a field.
 */
export function sealedInputInfo(purpose: string, field?: string): string {
  if (!PURPOSE_NAME.test(purpose) || purpose.length > 32) throw new RangeError('purpose must be a lower-case dotted name of at most 32 characters');
  if (field !== undefined && !FIELD_NAME.test(field)) throw new RangeError('field must be a lower-case name of at most 32 characters');
  // The enclave's own output label: no input may share it.
  if (purpose === 'detokenize') throw new RangeError('purpose detokenize is reserved');
  if (purpose === 'pii-value' && field === undefined) throw new RangeError('purpose pii-value requires a field');
  return `enclavekit/v1/${purpose}${field === undefined ? '' : `/${field}`}`;
}

export const HPKE_INFO = {
  /** Card JSON for tokenization. */
  card: sealedInputInfo('card'),
  /** UTF-8 text for redaction. */
  piiText: sealedInputInfo('pii-text'),
  /** A PAN re-encrypted by the enclave to a third-party recipient (detokenize-to). */
  detokenize: 'enclavekit/v1/detokenize',
} as const;

/** Bytes, ≤ 64 (RFC 9180 leaves the bound to the application; @hpke/core allows 128). */
export const HPKE_INFO_MAX_BYTES = 64;

/**
 * The key object type of the KEM (declared by @hpke as the DOM CryptoKey, which this Node-only
 * project's lib settings do not declare; taken from the library's own signature instead).
 */
export type HpkeKey = Awaited<ReturnType<CipherSuite['kem']['deserializePrivateKey']>>;

let suite: CipherSuite | undefined;
let x25519: NodeX25519 | undefined;

export function hpkeSuite(): CipherSuite {
  // The primitives on Node's synchronous crypto (node-x25519.ts, node-kdf-aead.ts): X25519 ~30x
  // faster than @noble/curves' BigInt arithmetic, HKDF and AES-GCM without a thread-pool job each.
  suite ??= new CipherSuite({ kem: new NodeDhkemX25519HkdfSha256(), kdf: new NodeHkdfSha256(), aead: new NodeAes256Gcm() });
  return suite;
}

export interface HpkeKeyPair {
  publicKey: Uint8Array;
  /** Raw X25519 private key: zero it (`.fill(0)`) when done. */
  privateKey: Uint8Array;
}

export async function generateHpkeKeyPair(): Promise<HpkeKeyPair> {
  const pair = await hpkeSuite().kem.generateKeyPair();
  const publicKey = new Uint8Array(await hpkeSuite().kem.serializePublicKey(pair.publicKey)).slice();
  const privateKey = new Uint8Array(await hpkeSuite().kem.serializePrivateKey(pair.privateKey)).slice();
  zeroPrivateKey(pair.privateKey);
  // serialize* return the key's backing ArrayBuffer; guard against it ever being a larger pool.
  if (publicKey.length !== HPKE_PUBLIC_KEY_BYTES || privateKey.length !== HPKE_PRIVATE_KEY_BYTES) {
    privateKey.fill(0);
    throw new Error('unexpected X25519 key serialization');
  }
  return { publicKey, privateKey };
}

/** The public key of a raw X25519 private key (RFC 9180 §7.1.3: pk = sk·G). */
export async function hpkePublicKeyOf(privateKey: Uint8Array): Promise<Uint8Array> {
  const key = await importPrivateKey(privateKey);
  try {
    x25519 ??= new NodeX25519(new NodeHkdfSha256());
    const pk = await x25519.derivePublicKey(key);
    return new Uint8Array(await x25519.serializePublicKey(pk)).slice();
  } finally {
    zeroPrivateKey(key);
  }
}

/** Imports raw private key bytes (copied: the caller keeps ownership of its buffer). */
export async function importPrivateKey(raw: Uint8Array): Promise<HpkeKey> {
  if (!(raw instanceof Uint8Array) || raw.length !== HPKE_PRIVATE_KEY_BYTES) {
    throw new RangeError(`HPKE private key must be ${HPKE_PRIVATE_KEY_BYTES} bytes`);
  }
  return hpkeSuite().kem.deserializePrivateKey(raw);
}

export async function importPublicKey(raw: Uint8Array): Promise<HpkeKey> {
  if (!(raw instanceof Uint8Array) || raw.length !== HPKE_PUBLIC_KEY_BYTES) {
    throw new RangeError(`HPKE public key must be ${HPKE_PUBLIC_KEY_BYTES} bytes`);
  }
  return hpkeSuite().kem.deserializePublicKey(raw);
}

/**
 * Overwrites the raw key inside an @hpke/dhkem-x25519 private CryptoKey. Such keys are
 * `XCryptoKey` objects (@hpke/common) whose `key` field is the only copy of the secret.
 */
export function zeroPrivateKey(key: HpkeKey): void {
  // Not a WebCrypto CryptoKey: the X25519 KEM's own key class, with a public `key` byte array.
  const inner = (key as unknown as { key?: unknown }).key;
  if (inner instanceof Uint8Array) inner.fill(0);
}

export function infoBytes(info: string): Uint8Array {
  const bytes = new TextEncoder().encode(info);
  if (bytes.length === 0 || bytes.length > HPKE_INFO_MAX_BYTES) {
    throw new RangeError(`HPKE info must be 1 to ${HPKE_INFO_MAX_BYTES} bytes`);
  }
  return bytes;
}
