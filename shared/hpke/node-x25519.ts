/**
 * The X25519 arithmetic of the HPKE KEM done by Node's OpenSSL instead of @noble/curves.
 *
 * Why: @hpke/dhkem-x25519 computes X25519 with BigInt arithmetic (noble-curves), about 1.5 ms per
 * scalar multiplication; opening one Auth-mode message takes two of them, which made HPKE opening
 * most of the enclave's CPU per card (bench: `npm run bench -- tokenize`, profiled with
 * ENCLAVEKIT_BENCH_PROFILE). OpenSSL's X25519 takes ~0.05 ms. Everything else stays @hpke's: key
 * objects (XCryptoKey, raw bytes we can zero), serialisation, the DHKEM key schedule.
 *
 * Same checks: OpenSSL's X25519 derivation fails when the shared secret is all zero (a low-order
 * public key), which RFC 9180 §7.1.4 requires rejecting, as noble does; the failure surfaces through
 * @hpke's DecapError/EncapError like any other.
 *
 * Costs: OpenSSL 3 decodes a PKCS#8 private key slowly (~1 ms, its decoder framework), so the
 * OpenSSL object made from a private key object is kept beside it (WeakMap) and made once: the
 * enclave's static key once per boot. A public key (the `enc` of every message) is imported in the
 * form the runtime imports fastest, see `x25519PublicKey`.
 *
 * Key material: the private key is copied into a PKCS#8 buffer (zeroed at once) and into an OpenSSL
 * key object that lives as long as its @hpke key object and is then freed by the garbage collector:
 * zeroing the @hpke key's bytes (zeroPrivateKey) does not reach that copy; the same caveat as for
 * the AES-GCM key @hpke imports (open.ts).
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { DhkemX25519HkdfSha256, X25519 } from '@hpke/dhkem-x25519';
import { NodeHkdfSha256 } from './node-kdf-aead.js';

// RFC 8410 §7: DER PrivateKeyInfo of an id-X25519 (1.3.101.110) key, up to the 32 raw key bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KEY_BYTES = 32;

type XKey = Parameters<X25519['dh']>[0];

/** The raw bytes of an @hpke X25519 key object (XCryptoKey.key). */
function rawOf(key: XKey): Uint8Array {
  const raw = (key as unknown as { key?: unknown }).key;
  if (!(raw instanceof Uint8Array) || raw.length !== KEY_BYTES) throw new TypeError('not an X25519 key of @hpke');
  return raw;
}

const privateKeyObjects = new WeakMap<XKey, KeyObject>();

/** The OpenSSL key object of an @hpke private key object, made once per key object. */
export function privateKeyObject(key: XKey): KeyObject {
  let made = privateKeyObjects.get(key);
  if (made === undefined) {
    const der = Buffer.alloc(PKCS8_PREFIX.length + KEY_BYTES);
    PKCS8_PREFIX.copy(der);
    der.set(rawOf(key), PKCS8_PREFIX.length);
    try {
      made = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    privateKeyObjects.set(key, made);
  }
  return made;
}

function publicKeyObject(key: XKey): KeyObject {
  return x25519PublicKey(rawOf(key));
}

// RFC 8410 §4: DER SubjectPublicKeyInfo of an id-X25519 key, up to the 32 raw key bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export type PublicKeyImportForm = 'jwk' | 'pem';

/**
 * The form `x25519PublicKey` imports in. µs per import of distinct keys, measured on the 2-core
 * bench machine (bench/scenarios/hpke.ts reports the two in every run):
 *
 *   Node 20, OpenSSL 3.0.19: JWK 6.5, SPKI PEM 76, SPKI DER 73 (OpenSSL 3.0's decoder framework);
 *   Node 24, OpenSSL 3.5:    JWK 21,  SPKI PEM 8.6, SPKI DER 27.
 *
 * One import per message opened, so the wrong form costs 12-70 µs per card. Both give the same key
 * object (test/hpke/node-crypto.test.ts holds them to each other on every key it draws).
 */
export const PUBLIC_KEY_IMPORT_FORM: PublicKeyImportForm = process.versions.openssl.startsWith('3.0.') ? 'jwk' : 'pem';

/** An OpenSSL key object of a raw 32-byte X25519 public key (RFC 7748 u-coordinate). */
export function x25519PublicKey(raw: Uint8Array, form: PublicKeyImportForm = PUBLIC_KEY_IMPORT_FORM): KeyObject {
  if (raw.length !== KEY_BYTES) throw new RangeError('X25519 public key must be 32 bytes');
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (form === 'jwk') return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: bytes.toString('base64url') }, format: 'jwk' });
  // RFC 7468 §13: the SPKI in one base64 line (60 characters) between the labels.
  return createPublicKey(`-----BEGIN PUBLIC KEY-----\n${Buffer.concat([SPKI_PREFIX, bytes]).toString('base64')}\n-----END PUBLIC KEY-----\n`);
}

/**
 * X25519(sk, pk) into `out` at `offset`, synchronously. The all-zero output of a low-order public
 * key is refused (RFC 9180 §7.1.4) by OpenSSL and checked again here, so the rule does not rest
 * on one library's behaviour.
 */
export function x25519Into(privateKey: KeyObject, publicKey: KeyObject, out: Uint8Array, offset: number): void {
  const shared = diffieHellman({ privateKey, publicKey });
  try {
    let any = 0;
    for (let i = 0; i < shared.length; i += 1) any |= shared[i] as number;
    if (shared.length !== KEY_BYTES || any === 0) throw new Error('X25519 output is all zero (low-order public key)');
    out.set(shared, offset);
  } finally {
    shared.fill(0);
  }
}

export class NodeX25519 extends X25519 {
  override async dh(sk: XKey, pk: XKey): Promise<ArrayBuffer> {
    const shared = diffieHellman({ privateKey: privateKeyObject(sk), publicKey: publicKeyObject(pk) });
    try {
      return new Uint8Array(shared).buffer;
    } finally {
      shared.fill(0);
    }
  }

  override async derivePublicKey(key: XKey): Promise<XKey> {
    const { x } = createPublicKey(privateKeyObject(key)).export({ format: 'jwk' });
    if (typeof x !== 'string') throw new TypeError('X25519 public key export failed');
    return this.deserializePublicKey(new Uint8Array(Buffer.from(x, 'base64url')).buffer);
  }
}

// RFC 9180 §4.1: the KEM's suite_id = "KEM" ‖ I2OSP(kem_id = 0x0020, 2).
const KEM_SUITE_ID = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);

/** DHKEM(X25519, HKDF-SHA256) of @hpke/dhkem-x25519 with the arithmetic above and Node's HKDF. */
export class NodeDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const kdf = new NodeHkdfSha256();
    kdf.init(KEM_SUITE_ID);
    this._kdf = kdf;
    this._prim = new NodeX25519(kdf);
  }
}
