/**
 * verifyAttestation: the one decision every party makes about a Nitro attestation document.
 *
 * Pure and synchronous (docs/conventions.md item 3): the clock, the roots and the cache are parameters.
 * Order of checks, each failing with its own code (docs/formats.md 1.4):
 * 0. options: no expected PCRs and no `anyPcrs`              → ERR_ATTESTATION_POLICY (fail closed)
 * 1. structure: COSE_Sign1 envelope and payload schema        → ERR_ATTESTATION_MALFORMED
 * 2. certificate chain (see chain.ts for its inner order)     → ERR_ATTESTATION_CHAIN / _NOT_YET_VALID / _EXPIRED
 * 3. COSE ES384 signature with the leaf key                   → ERR_ATTESTATION_SIGNATURE
 * 4. policy: debug mode, then PCRs, public_key, user_data, nonce, freshness
 *                                                             → ERR_ATTESTATION_DEBUG_MODE, ERR_PCR_MISMATCH,
 *                                                               ERR_PUBLIC_KEY_MISMATCH, ERR_USER_DATA_MISMATCH,
 *                                                               ERR_NONCE_MISMATCH, ERR_ATTESTATION_STALE
 * So a re-encoded payload (which breaks the signature) still reports the structural or chain
 * fault it carries, and a policy verdict is only ever given about an authentic document.
 *
 * NitroTPM documents (`nitrotpm_pcrs`, from EC2 instances, not enclaves) are refused with
 * ERR_ATTESTATION_POLICY unless `nitroTpm: true`: their registers measure an instance's boot chain,
 * and must never pass where an enclave measurement is expected. With the option, `kind` says which
 * it was, expected PCRs are compared with the TPM registers, and the debug-mode rule (an enclave
 * notion) does not apply.
 */
import { AttestationError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { bytesEqual, copyBytes, fromHex, toHex } from './bytes.js';
import { ChainCache } from './chain-cache.js';
import { validateChain } from './chain.js';
import { verifyCoseSignature } from './cose.js';
import { parseAttestation, PCR_BYTES } from './document.js';
import { trustAnchors } from './roots.js';

/** How far in the future (ms) a document timestamp may lie when `maxAgeMs` is checked: clock skew. */
export const ATTESTATION_FUTURE_SKEW_MS = 60_000;

export interface VerifyOptions {
  /** Verification time in ms since the epoch (or a Date), or 'document' for the document's own timestamp. Required: the verifier never reads the clock. */
  at: number | Date | 'document';
  /**
   * PEM (one or more certificates) or DER trust anchors; default: AWS Nitro Enclaves Root-G1 only.
   * Parsed once per array (and per entry): pass a fresh array rather than mutating one in place.
   */
  roots?: readonly (string | Uint8Array)[];
  /** PCR index → expected value (hex or bytes). Required unless `anyPcrs`. */
  expectedPcrs?: Readonly<Record<number, string | Uint8Array>>;
  /** Accept any PCR values: an explicit opt-out of measurement checks. */
  anyPcrs?: boolean;
  /** Accept debug-mode documents (PCR0-2 all zero), which prove nothing about the code. */
  allowDebug?: boolean;
  nonce?: Uint8Array;
  userData?: Uint8Array;
  publicKey?: Uint8Array;
  /** The document timestamp must lie in [at - maxAgeMs, at + ATTESTATION_FUTURE_SKEW_MS]. */
  maxAgeMs?: number;
  /** Validated-chain cache; false to disable; default: a module-level bounded cache. */
  cache?: ChainCache | false;
  /** Also accept NitroTPM documents (see above). Default false: Nitro Enclaves documents only. */
  nitroTpm?: boolean;
}

export interface VerifiedCertificate {
  subject: string;
  notBefore: number;
  notAfter: number;
  /** Lower-case hex SHA-256 of the DER. */
  sha256: string;
}

export interface VerifiedAttestation {
  /** 'nitrotpm' only when the `nitroTpm` option admitted a NitroTPM document. */
  kind: 'nitro-enclave' | 'nitrotpm';
  moduleId: string;
  /** ms since the epoch. */
  timestamp: number;
  digest: 'SHA384';
  /** Every PCR of the document (for NitroTPM: the TPM registers), lower-case hex. */
  pcrs: Record<number, string>;
  /** Copies; an empty value in the document is null. */
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
  /** Leaf first, root last. */
  certificates: VerifiedCertificate[];
}

const defaultCache = new ChainCache();

/** Throws AttestationError (see the order above); TypeError/RangeError for invalid options. */
export function verifyAttestation(doc: Uint8Array, options: VerifyOptions): VerifiedAttestation {
  if (!(doc instanceof Uint8Array)) throw new TypeError('an attestation document is a Uint8Array');
  const expectedPcrs = normaliseExpectedPcrs(options.expectedPcrs);
  if (expectedPcrs.size === 0 && options.anyPcrs !== true) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'no expected PCRs given: pass expectedPcrs, or anyPcrs: true to accept any measurement');
  }
  checkOptionalBytes(options.nonce, 'nonce');
  checkOptionalBytes(options.userData, 'userData');
  checkOptionalBytes(options.publicKey, 'publicKey');
  if (options.maxAgeMs !== undefined && !(Number.isFinite(options.maxAgeMs) && options.maxAgeMs >= 0)) {
    throw new RangeError('maxAgeMs must be a non-negative number of ms');
  }
  const anchors = trustAnchors(options.roots);
  const cache = options.cache === false ? null : (options.cache ?? defaultCache);

  const parsed = parseAttestation(doc);
  const at = verificationTime(options.at, parsed.timestamp);

  const chain = validateChain(parsed.certificate, parsed.cabundle, anchors, at, cache);
  if (!verifyCoseSignature(parsed.cose, chain.leafKey)) {
    throw new AttestationError('ERR_ATTESTATION_SIGNATURE', 'COSE_Sign1 signature does not verify with the leaf certificate key');
  }

  const nitroTpm = parsed.nitroTpm === true;
  if (nitroTpm && options.nitroTpm !== true) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'document is a NitroTPM attestation document: accepted only with the nitroTpm option');
  }
  const pcrs: Record<number, string> = {};
  for (const [index, value] of parsed.pcrs) pcrs[index] = toHex(value);

  if (!nitroTpm && options.allowDebug !== true && isDebugMode(parsed.pcrs)) {
    throw new AttestationError('ERR_ATTESTATION_DEBUG_MODE', 'document comes from a debug-mode enclave (PCR0, PCR1 and PCR2 are all zero)');
  }
  for (const [index, expected] of expectedPcrs) {
    if (pcrs[index] !== expected) throw new AttestationError('ERR_PCR_MISMATCH', `PCR${index} differs from the expected value`);
  }
  expectEqual(options.publicKey, parsed.publicKey, 'ERR_PUBLIC_KEY_MISMATCH', 'public_key');
  expectEqual(options.userData, parsed.userData, 'ERR_USER_DATA_MISMATCH', 'user_data');
  expectEqual(options.nonce, parsed.nonce, 'ERR_NONCE_MISMATCH', 'nonce');
  if (options.maxAgeMs !== undefined) {
    if (parsed.timestamp < at - options.maxAgeMs) throw new AttestationError('ERR_ATTESTATION_STALE', `document is older than ${options.maxAgeMs} ms at the verification time`);
    if (parsed.timestamp > at + ATTESTATION_FUTURE_SKEW_MS) throw new AttestationError('ERR_ATTESTATION_STALE', 'document timestamp lies in the future of the verification time');
  }

  return {
    kind: nitroTpm ? 'nitrotpm' : 'nitro-enclave',
    moduleId: parsed.moduleId,
    timestamp: parsed.timestamp,
    digest: parsed.digest,
    pcrs,
    publicKey: parsed.publicKey === null ? null : copyBytes(parsed.publicKey),
    userData: parsed.userData === null ? null : copyBytes(parsed.userData),
    nonce: parsed.nonce === null ? null : copyBytes(parsed.nonce),
    certificates: chain.certificates.map((c) => ({ subject: c.subject, notBefore: c.notBefore, notAfter: c.notAfter, sha256: c.sha256 })),
  };
}

function verificationTime(at: VerifyOptions['at'], documentTimestamp: number): number {
  if (at === 'document') return documentTimestamp;
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new TypeError("options.at must be ms since the epoch, a valid Date or 'document'");
  return ms;
}

/** Expected PCRs as index → lower-case hex; malformed expectations are caller bugs (TypeError). */
function normaliseExpectedPcrs(expected: VerifyOptions['expectedPcrs']): Map<number, string> {
  const out = new Map<number, string>();
  if (expected === undefined) return out;
  if (typeof expected !== 'object' || expected === null) throw new TypeError('expectedPcrs must be an object of index → hex or bytes');
  for (const [key, value] of Object.entries(expected)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= LIMITS.pcrCount || String(index) !== key) {
      throw new RangeError(`expectedPcrs: index '${key}' is not 0..${LIMITS.pcrCount - 1}`);
    }
    const bytes = typeof value === 'string' ? fromHex(value) : value instanceof Uint8Array ? value : undefined;
    if (bytes === undefined || bytes.length !== PCR_BYTES) throw new TypeError(`expectedPcrs[${index}] must be ${PCR_BYTES} bytes, as hex or a Uint8Array`);
    out.set(index, toHex(bytes));
  }
  return out;
}

function checkOptionalBytes(value: unknown, name: string): void {
  if (value !== undefined && !(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/**
 * Debug-mode enclaves report PCR0-2 as zeros (AWS user guide, set-up-attestation.html). An absent
 * register counts as zero: a document without image measurements proves no more than a debug one.
 */
function isDebugMode(pcrs: ReadonlyMap<number, Uint8Array>): boolean {
  for (const index of [0, 1, 2]) {
    if (pcrs.get(index)?.some((byte) => byte !== 0) === true) return false;
  }
  return true;
}

/** An expectation of `[]` matches an absent (null or empty) field: both mean "nothing". */
function expectEqual(expected: Uint8Array | undefined, actual: Uint8Array | null, code: 'ERR_PUBLIC_KEY_MISMATCH' | 'ERR_USER_DATA_MISMATCH' | 'ERR_NONCE_MISMATCH', field: string): void {
  if (expected === undefined) return;
  if (!bytesEqual(expected, actual ?? new Uint8Array(0))) throw new AttestationError(code, `document ${field} differs from the expected value`);
}
