/**
 * The AttestationDocument payload (docs/formats.md 1.3, 1.4 step 2), read from the exact payload bytes.
 *
 * Rules, each with its source:
 * - All nine keys, always, in the NSM's order (serde field order of nsm-api `AttestationDoc`);
 *   absent optional values are CBOR null (docs/formats.md section 0 item 3). Unknown, missing,
 *   duplicated or reordered keys are malformed.
 * - module_id non-empty text; digest "SHA384"; timestamp a uint > 0 (cbor-x would hand a BigInt
 *   for the 0x1b head: here it is read as a number when safe); attestation_process.md §3.2.2.
 * - pcrs: 1..32 entries, keys 0..31 ascending (a serde BTreeMap), 48-byte values (the width of the
 *   SHA384 bank the `digest` names).
 * - certificate and each cabundle entry 1..1024 bytes; cabundle non-empty (its size is bounded).
 * - public_key, user_data, nonce: null or 0..1024 bytes, an empty value read as null (docs/formats.md
 *   section 0 items 4 and 5).
 * - NitroTPM documents (EC2 instances with NitroTPM, "NitroTPM attestation document" in the EC2 user
 *   guide) have the same layout with `nitrotpm_pcrs` in place of `pcrs`: TPM registers 0..23 of the
 *   SHA384 bank. They parse here (`nitroTpm: true`); verify.ts accepts them only when asked.
 */
import { LIMITS } from '../limits.js';
import { toSafeNumber } from '../cbor.js';
import { CborCursor, malformed } from './cbor-reader.js';
import { parseCoseSign1, type CoseSign1 } from './cose.js';

/** Payload keys in the order the NSM writes them. */
export const PAYLOAD_KEYS = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'] as const;

/** PCR registers of the SHA384 bank are 48 bytes. */
export const PCR_BYTES = 48;

/** The key NitroTPM documents carry in place of `pcrs`, and their register count (TPM 2.0 PCR 0..23). */
export const NITROTPM_PCRS_KEY = 'nitrotpm_pcrs';
export const NITROTPM_PCR_COUNT = 24;

/** The decoded payload. Byte fields are views into the document (copy them to keep them). */
export interface AttestationPayload {
  moduleId: string;
  digest: 'SHA384';
  /** ms since the Unix epoch. */
  timestamp: number;
  /** PCR index → 48-byte value, in ascending index order (for NitroTPM: the TPM registers). */
  pcrs: ReadonlyMap<number, Uint8Array>;
  /** True for a NitroTPM document (`nitrotpm_pcrs`); absent or false for a Nitro Enclaves one. */
  nitroTpm?: boolean;
  certificate: Uint8Array;
  /** As in the document: `[root, …, issuer of the leaf]`. */
  cabundle: readonly Uint8Array[];
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
}

/** A structurally valid document: envelope plus payload, nothing verified. */
export interface ParsedAttestation extends AttestationPayload {
  cose: CoseSign1;
}

/** Structure only: no signature, chain or policy check. Throws ERR_ATTESTATION_MALFORMED. */
export function parseAttestation(doc: Uint8Array): ParsedAttestation {
  if (!(doc instanceof Uint8Array)) throw new TypeError('an attestation document is a Uint8Array');
  const cose = parseCoseSign1(doc);
  return { ...parseAttestationPayload(cose.payload), cose };
}

export function parseAttestationPayload(payload: Uint8Array): AttestationPayload {
  const cursor = new CborCursor(payload, 'payload');
  const pairs = cursor.readMapStart('payload');
  if (pairs !== null && pairs !== PAYLOAD_KEYS.length) {
    throw cursor.fail(`payload map must have exactly ${PAYLOAD_KEYS.length} entries, has ${pairs}`);
  }
  let nitroTpm = false;
  const key = (index: number): void => {
    const expected = PAYLOAD_KEYS[index] as string;
    if (pairs === null && cursor.readBreak()) throw malformed(`payload: missing key '${expected}'`);
    const found = cursor.readText('payload key');
    if (found === expected) return;
    if (expected === 'pcrs' && found === NITROTPM_PCRS_KEY) {
      nitroTpm = true;
      return;
    }
    throw malformed(
      (PAYLOAD_KEYS as readonly string[]).includes(found)
        ? `payload: key '${found}' is duplicated or out of order (expected '${expected}')`
        : `payload: unknown key in place of '${expected}'`,
    );
  };

  key(0);
  const moduleId = cursor.readText('module_id');
  if (moduleId.length === 0) throw malformed('payload: module_id is empty');
  key(1);
  const digest = cursor.readText('digest');
  if (digest !== 'SHA384') throw malformed('payload: digest must be "SHA384"');
  key(2);
  const timestamp = toSafeNumber(cursor.readUint('timestamp'));
  if (timestamp === undefined || timestamp === 0) throw malformed('payload: timestamp must be a positive integer of ms');
  key(3);
  const pcrs = readPcrs(cursor, nitroTpm ? NITROTPM_PCR_COUNT : LIMITS.pcrCount);
  key(4);
  const certificate = readCertificate(cursor, 'certificate');
  key(5);
  const cabundle = readCabundle(cursor);
  key(6);
  const publicKey = readOptionalBytes(cursor, 'public_key');
  key(7);
  const userData = readOptionalBytes(cursor, 'user_data');
  key(8);
  const nonce = readOptionalBytes(cursor, 'nonce');
  if (pairs === null && !cursor.readBreak()) throw malformed('payload: unexpected key after nonce');
  if (!cursor.atEnd()) throw cursor.fail('trailing bytes after the payload map');
  return { moduleId, digest, timestamp, pcrs, ...(nitroTpm ? { nitroTpm } : {}), certificate, cabundle, publicKey, userData, nonce };
}

function readPcrs(cursor: CborCursor, registers: number): Map<number, Uint8Array> {
  const count = cursor.readMapStart('pcrs');
  const pcrs = new Map<number, Uint8Array>();
  let previous = -1;
  while (count === null ? !cursor.readBreak() : pcrs.size < count) {
    if (pcrs.size === registers) throw malformed(`payload: more than ${registers} PCRs`);
    const index = cursor.readUint('PCR index');
    if (typeof index !== 'number' || index >= registers) throw malformed(`payload: PCR index outside 0..${registers - 1}`);
    if (index <= previous) throw malformed(`payload: PCR ${index} is duplicated or out of order`);
    previous = index;
    const value = cursor.readBytes(`PCR${index}`);
    if (value.length !== PCR_BYTES) throw malformed(`payload: PCR${index} is ${value.length} bytes, not ${PCR_BYTES}`);
    pcrs.set(index, value);
  }
  if (pcrs.size === 0) throw malformed('payload: pcrs is empty');
  return pcrs;
}

function readCertificate(cursor: CborCursor, label: string): Uint8Array {
  const der = cursor.readBytes(label);
  if (der.length < 1 || der.length > LIMITS.certificateMaxBytes) {
    throw malformed(`payload: ${label} is ${der.length} bytes, outside 1..${LIMITS.certificateMaxBytes}`);
  }
  return der;
}

function readCabundle(cursor: CborCursor): Uint8Array[] {
  const count = cursor.readArrayStart('cabundle');
  const cabundle: Uint8Array[] = [];
  while (count === null ? !cursor.readBreak() : cabundle.length < count) {
    if (cabundle.length === LIMITS.cabundleMaxEntries) throw malformed(`payload: cabundle has more than ${LIMITS.cabundleMaxEntries} entries`);
    cabundle.push(readCertificate(cursor, `cabundle[${cabundle.length}]`));
  }
  if (cabundle.length === 0) throw malformed('payload: cabundle is empty');
  return cabundle;
}

function readOptionalBytes(cursor: CborCursor, label: string): Uint8Array | null {
  if (cursor.readNull()) return null;
  const value = cursor.readBytes(label);
  if (value.length > LIMITS.attestationFieldMaxBytes) {
    throw malformed(`payload: ${label} is ${value.length} bytes, more than ${LIMITS.attestationFieldMaxBytes}`);
  }
  return value.length === 0 ? null : value;
}
