/**
 * Building a Nitro attestation document: an untagged COSE_Sign1 (RFC 8152 §4.2) over the
 * AttestationDocument payload, byte-compatible with what the NSM emits (docs/formats.md section 1):
 *
 *   84                         array(4), no tag 18 (real documents are untagged: section 0 item 2)
 *     44 a1 01 38 22           protected {1: -35} (alg ES384)
 *     a0                       unprotected {}
 *     59 HH LL <payload>       the payload below
 *     58 60 <r ‖ s>            ECDSA P-384 over SHA-384(Sig_structure), raw 48-byte r and s
 *
 * Payload: the nine keys in the order of the nsm-api `AttestationDoc` struct (module_id, digest,
 * timestamp, pcrs, certificate, cabundle, public_key, user_data, nonce), absent values as null
 * (0xf6), timestamp as uint64 (0x1b, encoded from a BigInt: a JS number would become a float).
 * The outer map is indefinite-length (0xbf … 0xff) by default, as current NSMs write it (since
 * about mid-2025: section 0 item 1); 'definite' gives the older 0xa9 form.
 *
 * NitroTPM-shaped documents (`nitroTpm: true`) write `nitrotpm_pcrs` in place of `pcrs`.
 *
 * Signing is synchronous (node:crypto), so a document costs one ECDSA signature and no I/O.
 */
import { sign, type KeyObject } from 'node:crypto';
import { NITROTPM_PCRS_KEY, type AttestationPayload as VerifierPayload } from '../../shared/attestation/document.js';
import { encodeCbor } from '../../shared/cbor.js';

/** The protected header bytes of every Nitro document: {1: -35}. */
export const ES384_PROTECTED_HEADER: Uint8Array = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);

export type PayloadMapEncoding = 'indefinite' | 'definite';

/** What a document says: the verifier's payload type (shared/attestation), minus the fixed digest. */
export type AttestationPayload = Omit<VerifierPayload, 'digest'>;

const MAP_DEFINITE_9 = 0xa9;
const MAP_INDEFINITE = 0xbf;
const BREAK = 0xff;

/** A plain Uint8Array view, so the encoder never sees a Buffer subclass. */
function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The CBOR AttestationDocument (docs/formats.md section 1.3). */
export function encodeAttestationPayload(payload: AttestationPayload, encoding: PayloadMapEncoding = 'indefinite'): Uint8Array {
  if (!Number.isSafeInteger(payload.timestamp) || payload.timestamp <= 0) {
    throw new RangeError('timestamp must be a positive integer of milliseconds');
  }
  const pcrs = new Map([...payload.pcrs.entries()].sort(([a], [b]) => a - b).map(([index, value]) => [index, bytes(value)]));
  const entries: [string, unknown][] = [
    ['module_id', payload.moduleId],
    ['digest', 'SHA384'],
    ['timestamp', BigInt(payload.timestamp)],
    [payload.nitroTpm === true ? NITROTPM_PCRS_KEY : 'pcrs', pcrs],
    ['certificate', bytes(payload.certificate)],
    ['cabundle', payload.cabundle.map(bytes)],
    ['public_key', payload.publicKey === null ? null : bytes(payload.publicKey)],
    ['user_data', payload.userData === null ? null : bytes(payload.userData)],
    ['nonce', payload.nonce === null ? null : bytes(payload.nonce)],
  ];
  // cbor-x writes only definite-length maps, so the outer map header (and break) is written
  // here and each key and value is encoded by cbor-x; copies keep the parts independent of its
  // reusable output buffer.
  const parts: Uint8Array[] = [Uint8Array.of(encoding === 'indefinite' ? MAP_INDEFINITE : MAP_DEFINITE_9)];
  for (const [key, value] of entries) {
    parts.push(Uint8Array.from(encodeCbor(key)), Uint8Array.from(encodeCbor(value)));
  }
  if (encoding === 'indefinite') parts.push(Uint8Array.of(BREAK));
  return concat(parts);
}

/** RFC 8152 §4.4 Sig_structure for COSE_Sign1: ["Signature1", protected, h'', payload]. */
// Built with cbor-x, independently of the verifier's byte-level builder (shared/attestation/cose.ts):
// every simulated document that verifies is then a cross-check of both encodings.
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return Uint8Array.from(encodeCbor(['Signature1', bytes(protectedHeader), new Uint8Array(0), bytes(payload)]));
}

/** Signs `payload` as an untagged COSE_Sign1 with ES384 (raw r ‖ s, RFC 8152 §8.1). */
export function signCoseSign1(payload: Uint8Array, privateKey: KeyObject): Uint8Array {
  const toBeSigned = sigStructure(ES384_PROTECTED_HEADER, payload);
  const signature = sign('sha384', toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return Uint8Array.from(encodeCbor([ES384_PROTECTED_HEADER, new Map(), bytes(payload), new Uint8Array(signature)]));
}

/** A complete signed attestation document. `leafKey` is the private key of `payload.certificate`. */
export function buildAttestationDocument(
  payload: AttestationPayload,
  leafKey: KeyObject,
  encoding: PayloadMapEncoding = 'indefinite',
): Uint8Array {
  return signCoseSign1(encodeAttestationPayload(payload, encoding), leafKey);
}
