/**
 * HKDF-SHA256 and AES-256-GCM for @hpke/core on Node's synchronous crypto, behind @hpke's own
 * interfaces (KdfInterface, AeadInterface): @hpke keeps the RFC 9180 logic (labels, key schedule,
 * nonces, sequence numbers), only the primitives change.
 *
 * Why: @hpke's native classes call WebCrypto, whose every operation in Node is a job on the libuv
 * thread pool: an Auth-mode open makes about fifteen of them (HMACs of under 100 bytes, an AES-GCM
 * of a card), each costing a thread hand-off that dwarfs the microsecond of work. Under load on a
 * small machine those hand-offs were most of the enclave's CPU per card (bench tokenize, profiled
 * with ENCLAVEKIT_BENCH_PROFILE: hkdf/jobPromise/makeTransferable on top). The HMACs here
 * (shared/crypto/hmac.ts: two one-shot hashes each) and createDecipheriv do the same computations
 * on the calling thread.
 *
 * RFC 5869 (HKDF): Extract = HMAC-Hash(salt, IKM) with an all-zero salt of HashLen when none is
 * given (§2.2); Expand = T(1) ‖ T(2) ‖ … with T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i) (§2.3).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { cipherKey } from '../crypto/cipher-key.js';
import { Aes256Gcm, HkdfSha256 } from '@hpke/core';
import type { AeadEncryptionContext } from '@hpke/core';
import { hmac } from '../crypto/hmac.js';

type Bytes = ArrayBufferLike | ArrayBufferView;

const HASH_BYTES = 32;
const TAG_BYTES = 16;
/** RFC 5869 §2.2: a missing salt is HashLen zero bytes. */
const ZERO_SALT = Buffer.alloc(HASH_BYTES);

/** A view of `input` without copying. */
function view(input: Bytes): Uint8Array {
  return ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
}

/** A fresh ArrayBuffer holding `bytes` (what @hpke's interfaces return). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/** HKDF-Extract (RFC 5869 §2.2), synchronous; `ikm` may come in parts. Zero the returned PRK when done. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array | readonly Uint8Array[]): Buffer {
  return hmac('sha256', salt.length === 0 ? ZERO_SALT : salt, ikm);
}

/** HKDF-Expand (RFC 5869 §2.3), synchronous; `info` given in parts to save concatenating them. */
export function hkdfExpand(prk: Uint8Array, info: readonly Uint8Array[], len: number): Buffer {
  if (len > 255 * HASH_BYTES) throw new Error('Entropy limit reached');
  const okm = Buffer.alloc(len);
  let previous: Buffer | null = null;
  for (let i = 1, done = 0; done < len; i += 1) {
    const block = hmac('sha256', prk, previous === null ? [...info, Uint8Array.of(i)] : [previous, ...info, Uint8Array.of(i)]);
    previous?.fill(0);
    block.copy(okm, done, 0, Math.min(block.length, len - done));
    done += block.length;
    previous = block;
  }
  previous?.fill(0);
  return okm;
}

/** AES-256-GCM decryption of ciphertext ‖ tag; throws on a wrong tag and returns nothing then. */
export function aes256GcmOpen(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < TAG_BYTES) throw new Error('ciphertext shorter than the tag');
  const decipher = createDecipheriv('aes-256-gcm', cipherKey(key), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (error) {
    head.fill(0);
    throw error;
  }
}

export class NodeHkdfSha256 extends HkdfSha256 {
  override async extract(salt: Bytes, ikm: Bytes): Promise<ArrayBuffer> {
    const prk = hkdfExtract(view(salt), view(ikm));
    try {
      return arrayBufferOf(prk);
    } finally {
      prk.fill(0);
    }
  }

  override async expand(prk: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    const okm = hkdfExpand(view(prk), [view(info)], len);
    try {
      return arrayBufferOf(okm);
    } finally {
      okm.fill(0);
    }
  }

  // Not hkdfSync: it wraps the key in a KeyObject first, which costs more than the HMACs here.
  override async extractAndExpand(salt: Bytes, ikm: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    const prk = hkdfExtract(view(salt), view(ikm));
    try {
      return await this.expand(prk, info, len);
    } finally {
      prk.fill(0);
    }
  }
}

class NodeAes256GcmContext implements AeadEncryptionContext {
  readonly #key: Buffer;

  constructor(key: Bytes) {
    this.#key = Buffer.from(view(key));
  }

  async seal(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
    const cipher = createCipheriv('aes-256-gcm', cipherKey(this.#key), view(iv), { authTagLength: TAG_BYTES });
    cipher.setAAD(view(aad));
    return arrayBufferOf(Buffer.concat([cipher.update(view(data)), cipher.final(), cipher.getAuthTag()]));
  }

  async open(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
    const plaintext = aes256GcmOpen(this.#key, view(iv), view(data), view(aad));
    try {
      return arrayBufferOf(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }
}

export class NodeAes256Gcm extends Aes256Gcm {
  override createEncryptionContext(key: Bytes): AeadEncryptionContext {
    return new NodeAes256GcmContext(key);
  }
}
