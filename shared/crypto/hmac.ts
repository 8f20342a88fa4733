/**
 * HMAC (RFC 2104) computed from two one-shot hashes (`crypto.hash`), for keys given as bytes:
 * HKDF's pseudorandom keys (HPKE, an ESDK message's key derivation and commitment), made for one
 * message, and the MAC half of a kmsRsa secret, which the enclave keeps as bytes like a data key.
 *
 * Why not createHmac: given a key as bytes, Node 24 spends ~11 µs preparing it (as its cipher
 * constructors do: shared/crypto/cipher-key.ts), while the two hashes here cost ~2.5 µs on Node 20
 * and 24 alike (createHmac itself is ~2.2 µs on Node 20). With a key that lives long, make a
 * KeyObject once and pass that to createHmac instead: it is as fast (enclave/pii/blind-index.ts does).
 *
 * HMAC(K, m) = H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ m)), where K0 is K zero-padded to the hash's block
 * size, or H(K) zero-padded when K is longer than a block (RFC 2104 §2; FIPS 198-1 §4). Every
 * buffer that holds key material (the padded key blocks, the inner hash) is zeroed before return.
 */
import { hash } from 'node:crypto';

export type HmacHash = 'sha256' | 'sha512';

/** The hash's input block size in bytes (FIPS 180-4 §1). */
const BLOCK_BYTES: Record<HmacHash, number> = { sha256: 64, sha512: 128 };
const IPAD = 0x36;
const OPAD = 0x5c;

/** HMAC of `message` (given whole or in parts, as if concatenated) under `key`. */
export function hmac(algorithm: HmacHash, key: Uint8Array, message: Uint8Array | readonly Uint8Array[]): Buffer {
  const block = BLOCK_BYTES[algorithm];
  const parts = message instanceof Uint8Array ? [message] : message;
  let length = block;
  for (const part of parts) length += part.byteLength;
  const longKey = key.byteLength > block ? hash(algorithm, key, 'buffer') : undefined;
  const k0 = longKey ?? key;
  const inner = Buffer.alloc(length);
  let outer: Buffer | undefined;
  let innerHash: Buffer | undefined;
  try {
    inner.set(k0, 0);
    for (let i = 0; i < block; i += 1) inner[i] = (inner[i] as number) ^ IPAD;
    let at = block;
    for (const part of parts) {
      inner.set(part, at);
      at += part.byteLength;
    }
    innerHash = hash(algorithm, inner, 'buffer');
    outer = Buffer.alloc(block + innerHash.byteLength);
    outer.set(k0, 0);
    for (let i = 0; i < block; i += 1) outer[i] = (outer[i] as number) ^ OPAD;
    outer.set(innerHash, block);
    return hash(algorithm, outer, 'buffer');
  } finally {
    longKey?.fill(0);
    inner.fill(0);
    innerHash?.fill(0);
    outer?.fill(0);
  }
}
