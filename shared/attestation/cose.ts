/**
 * The COSE_Sign1 envelope of a Nitro attestation document (docs/formats.md 1.1, 1.2).
 *
 *   [18(] [ protected: bstr(a1 01 38 22), unprotected: {}, payload: bstr, signature: bstr(96) ] [)]
 *
 * Source: aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.1; RFC 9052 §4.2 (COSE_Sign1),
 * §4.4 (Sig_structure). Real documents are untagged (docs/formats.md section 0 item 2); tag 18 is legal.
 */
import { verify, type KeyObject } from 'node:crypto';
import { LIMITS } from '../limits.js';
import { sameBytes } from './bytes.js';
import { CborCursor, malformed } from './cbor-reader.js';

/** COSE tag for COSE_Sign1 (RFC 9052 §2). */
export const COSE_SIGN1_TAG = 18;

/** The only protected header the NSM writes: {1 (alg): -35 (ES384)}, RFC 9053 §2.1. */
export const ES384_PROTECTED_HEADER = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);

/** ES384 signatures are r‖s, 48 bytes each (RFC 9053 §2.1; aws-nitro-enclaves-cose openssl_pkey.rs). */
export const ES384_SIGNATURE_BYTES = 96;

/** attestation_process.md §3.1: payload bstr .size (1..16384). */
export const PAYLOAD_MAX_BYTES = 16_384;

/** The envelope's parts, as views into the document bytes (no copies). */
export interface CoseSign1 {
  tagged: boolean;
  protectedHeader: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

export function parseCoseSign1(doc: Uint8Array): CoseSign1 {
  if (doc.length > LIMITS.attestationDocumentMaxBytes) {
    throw malformed(`document is ${doc.length} bytes, more than ${LIMITS.attestationDocumentMaxBytes}`);
  }
  const cursor = new CborCursor(doc, 'COSE_Sign1');
  const tag = cursor.readOptionalTag();
  if (tag !== undefined && tag !== COSE_SIGN1_TAG) throw cursor.fail('only tag 18 (COSE_Sign1) may wrap the document');
  if (cursor.readArrayStart('COSE_Sign1') !== 4) throw cursor.fail('COSE_Sign1 must be a definite-length array of 4 items');

  const protectedHeader = cursor.readBytes('protected header');
  if (!sameBytes(protectedHeader, ES384_PROTECTED_HEADER)) {
    throw malformed('COSE_Sign1: protected header must be exactly {1: -35} (alg ES384)');
  }
  // The NSM sends an empty unprotected map (a0); anything in it would be unauthenticated, so a
  // header there (an alg or kid that disagrees with the protected one) is refused, not ignored.
  if (cursor.peekByte() !== 0xa0) throw cursor.fail('unprotected header must be an empty map (a0)');
  cursor.pos += 1;
  const payload = cursor.readBytes('payload');
  if (payload.length < 1 || payload.length > PAYLOAD_MAX_BYTES) {
    throw malformed(`COSE_Sign1: payload is ${payload.length} bytes, outside 1..${PAYLOAD_MAX_BYTES}`);
  }
  const signature = cursor.readBytes('signature');
  if (signature.length !== ES384_SIGNATURE_BYTES) {
    throw malformed(`COSE_Sign1: ES384 signature must be ${ES384_SIGNATURE_BYTES} bytes, is ${signature.length}`);
  }
  if (!cursor.atEnd()) throw cursor.fail('trailing bytes after the COSE_Sign1 array');
  return { tagged: tag !== undefined, protectedHeader, payload, signature };
}

/**
 * Sig_structure = ["Signature1", body_protected, external_aad = h'', payload] (RFC 9052 §4.4),
 * built from the original protected and payload bytes: never a re-encoding (docs/formats.md 1.2).
 */
export function sigStructure(cose: CoseSign1): Uint8Array {
  const context = 'Signature1';
  const protectedHead = bstrHead(cose.protectedHeader.length);
  const payloadHead = bstrHead(cose.payload.length);
  const size = 1 + 1 + context.length + protectedHead.length + cose.protectedHeader.length + 1 + payloadHead.length + cose.payload.length;
  const out = new Uint8Array(size);
  let at = 0;
  out[at++] = 0x84; // array(4)
  out[at++] = 0x60 + context.length; // text(10)
  for (let i = 0; i < context.length; i += 1) out[at++] = context.charCodeAt(i);
  out.set(protectedHead, at);
  at += protectedHead.length;
  out.set(cose.protectedHeader, at);
  at += cose.protectedHeader.length;
  out[at++] = 0x40; // external_aad: empty bstr
  out.set(payloadHead, at);
  at += payloadHead.length;
  out.set(cose.payload, at);
  return out;
}

/** ES384 check of the COSE_Sign1 signature: ECDSA P-384 over SHA-384(Sig_structure), raw r‖s. */
export function verifyCoseSignature(cose: CoseSign1, key: KeyObject): boolean {
  try {
    return verify('sha384', sigStructure(cose), { key, dsaEncoding: 'ieee-p1363' }, cose.signature);
  } catch {
    // OpenSSL reports some malformed signatures as errors rather than `false`: same verdict.
    return false;
  }
}

/** Shortest head for a byte string of `length` bytes (RFC 8949 §4.2.1 preferred serialization). */
function bstrHead(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 + length);
  if (length < 0x100) return Uint8Array.of(0x58, length);
  if (length < 0x10000) return Uint8Array.of(0x59, length >> 8, length & 0xff);
  return Uint8Array.of(0x5a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}
