/**
 * Byte helpers of the attestation verifier: hex in and out, and equality in constant time.
 * Kept here (not in a generic util) so that shared/attestation/ depends on nothing but libraries.
 */
import { timingSafeEqual } from 'node:crypto';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower-case hex of a byte view, without copying the bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Strict hex (even length, no prefix, no spaces) to bytes; undefined when it is not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  if (!HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Equality that does not leak where two equal-length values first differ (a nonce or key the
 * caller expects should not be guessable byte by byte from timing). Lengths are not secret.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** Plain equality, for public values (headers, algorithm identifiers, names). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy that does not alias the caller's (or the document's) buffer. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
