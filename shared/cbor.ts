/**
 * cbor-x configured once for the byte-exact formats enclavekit reads and writes (COSE_Sign1, Nitro
 * attestation payloads, NSM messages). Traps handled here, from docs/formats.md "Traps":
 * - cbor-x decodes every uint64 (0x1b) to a BigInt: callers normalise with `toSafeNumber`.
 * - On encode, a JS number above 2^32-1 becomes float64: encode 64-bit values as BigInt.
 * - Maps: written without tag 259 (cbor-x only adds it when mapsAsObjects is on), decoded as `Map` so integer keys (PCR indexes, COSE labels) and key
 *   order survive.
 */
import { Decoder, Encoder } from 'cbor-x';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({
  mapsAsObjects: false,
  useRecords: false,
  variableMapSize: true,
  tagUint8Array: false,
});

/** Decodes exactly one CBOR item; trailing bytes are an error (thrown as cbor-x's Error). */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

/** Encodes with definite lengths, no tag 259, byte strings as plain bstr. */
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** A uint64 from cbor-x (number or BigInt) as a safe JS number, or undefined when it is not one. */
export function toSafeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') {
    return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
  }
  return undefined;
}
