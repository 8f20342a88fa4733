/**
 * A software Nitro Secure Module with the real module's semantics (docs/formats.md section 4.2 and
 * aws/aws-nitro-enclaves-nsm-api nsm-test/src/bin/nsm-check.rs, AWS's on-device test):
 *
 * - 32 SHA-384 PCRs. PCR0-15 are set at boot and locked; PCR16-31 start at zero and unlocked.
 * - ExtendPCR: `PCR = SHA384(PCR ‖ data)`, refused with ReadOnlyIndex once locked.
 * - LockPCR on a locked PCR → ReadOnlyIndex; LockPCRs{range} locks [0, range) and accepts
 *   already-locked PCRs (nsm-check locks [0, 32) after PCR0-15 are locked); range > 32 → InvalidIndex.
 * - Index ≥ 32 → InvalidIndex. user_data, nonce, public_key up to 1024 bytes each (the NSM
 *   self-test sends 1024 of each: docs/formats.md section 0 item 5); more → InputTooLarge.
 * - Attestation documents carry the locked PCRs ("Map of all locked PCRs at the moment the
 *   attestation document was generated", nsm-api src/api/mod.rs `AttestationDoc.pcrs`): PCR0-15,
 *   like every real document, plus any application PCR the enclave has locked.
 * - One leaf certificate per boot, re-issued when it nears expiry (sim/pki).
 *
 * NSM-level failures throw `NsmError` (shared/nsm/codec.ts): a ServiceError with code ERR_NSM
 * whose `nsmCode` is the NSM ErrorCode, so the raw socket server (sim/nsm/server.ts) sends the
 * same `{"Error": nsmCode}` back on the wire.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ServiceError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { NsmError } from '../../shared/nsm/codec.js';
import type { AttestationRequest, Nsm, NsmDescription, PcrDescription } from '../../shared/nsm/types.js';
import { PCR_LENGTH, extendPcrValue, pcrOfString } from '../../shared/pcr.js';
import { announceSimulator, type AnnounceOptions } from '../announce.js';
import { LEAF_MIN_REMAINING_MS, instanceIdOf, type IssuedLeaf, type SimPki } from '../pki/index.js';
import { NITROTPM_PCR_COUNT } from '../../shared/attestation/document.js';
import { buildAttestationDocument, type PayloadMapEncoding } from './document.js';

export const SIM_NSM_MAX_PCRS = LIMITS.pcrCount;
/** PCR0-15 are the boot PCRs: set by the hypervisor and locked (nsm-check.rs). */
export const SIM_NSM_BOOT_PCRS = 16;
/** GetRandom answers with this many bytes (nsm-lib `nsm_get_random`: "up to 256 bytes"). */
export const SIM_NSM_RANDOM_BYTES = 256;
/** DescribeNSM version. AWS does not publish its numbers; 1.0.0 marks the API generation. */
const VERSION = { versionMajor: 1, versionMinor: 0, versionPatch: 0 } as const;

/**
 * The largest ExtendPCR data whose serde-encoded request still fits the 4096-byte request
 * buffer (NSM_REQUEST_MAX_SIZE; the driver answers InputTooLarge beyond it, docs/formats.md 4.1):
 * `a1 69"ExtendPCR" a2 65"index" <uint> 64"data" <bstr header> data` is 23 bytes plus the index
 * (1 byte below 24, 2 bytes from 24) plus the bstr header (3 bytes for 256..65535).
 */
export function maxExtendDataBytes(index: number): number {
  return LIMITS.nsmRequestMaxBytes - 23 - (index < 24 ? 1 : 2) - 3;
}

/** `i-` and 17 random hex digits, like a current EC2 instance id. */
export function randomInstanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/**
 * `<instance id>-enc<16 hex>`; the 16 hex digits start with the enclave start time in ms (12 hex
 * digits) as in real module ids (docs/formats.md section 1.3), then 4 random hex digits.
 */
export function newModuleId(now: number, instanceId: string = randomInstanceId()): string {
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  return `${instanceId}-enc${time}${randomBytes(2).toString('hex')}`;
}

export interface SimulatedNsmOptions {
  pki: SimPki;
  /** Boot PCRs 0-15 as hex or bytes (48 bytes each); absent ones are zero, except PCR4 (below). */
  pcrs?: Readonly<Record<number, string | Uint8Array>> | undefined;
  /** Default: a new id for a random instance. PCR4 defaults to the measurement of its instance id. */
  moduleId?: string | undefined;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: (() => number) | undefined;
  /** Suppresses the start banner. Tests only. */
  silent?: boolean | undefined;
  /** Where the banner goes (default stderr). */
  announceTo?: AnnounceOptions['stream'] | undefined;
  /** Outer payload map of documents: 'indefinite' (current NSMs, default) or 'definite' (pre-2025). */
  payloadMap?: PayloadMapEncoding | undefined;
}

function toPcrBytes(index: number, value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? (/^[0-9a-fA-F]*$/.test(value) ? Buffer.from(value, 'hex') : undefined) : value;
  if (bytes?.length !== PCR_LENGTH) throw new RangeError(`boot PCR${index} must be ${PCR_LENGTH} bytes (${PCR_LENGTH * 2} hex digits)`);
  return new Uint8Array(bytes);
}

export class SimulatedNsm implements Nsm {
  readonly moduleId: string;
  private readonly pki: SimPki;
  private readonly now: () => number;
  private readonly payloadMap: PayloadMapEncoding;
  private readonly values: Uint8Array[];
  private readonly locked: boolean[];
  private leaf: Promise<IssuedLeaf> | undefined;
  private closed = false;

  constructor(options: SimulatedNsmOptions) {
    this.pki = options.pki;
    this.now = options.now ?? Date.now;
    this.payloadMap = options.payloadMap ?? 'indefinite';
    this.moduleId = options.moduleId ?? newModuleId(this.now());
    const instanceId = instanceIdOf(this.moduleId);

    this.values = Array.from({ length: SIM_NSM_MAX_PCRS }, () => new Uint8Array(PCR_LENGTH));
    this.locked = Array.from({ length: SIM_NSM_MAX_PCRS }, (_, index) => index < SIM_NSM_BOOT_PCRS);
    const boot: Readonly<Record<number, string | Uint8Array>> = { 4: pcrOfString(instanceId), ...options.pcrs };
    for (const [key, value] of Object.entries(boot)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= SIM_NSM_BOOT_PCRS) {
        throw new RangeError(`boot PCRs are 0-${SIM_NSM_BOOT_PCRS - 1}; PCR${key} is extended at run time`);
      }
      this.values[index] = toPcrBytes(index, value);
    }

    if (options.silent !== true) {
      announceSimulator('simulated NSM and Nitro PKI', {
        ...(options.announceTo === undefined ? {} : { stream: options.announceTo }),
        details: [`module id ${this.moduleId}`, `simulated root SHA-256 ${createHash('sha256').update(this.pki.root.der).digest('hex')}`],
      });
    }
  }

  async describePcr(index: number): Promise<PcrDescription> {
    this.checkOpen();
    this.checkIndex(index);
    return { lock: this.locked[index] === true, data: Uint8Array.from(this.values[index] as Uint8Array) };
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    this.checkOpen();
    this.checkIndex(index);
    if (!(data instanceof Uint8Array)) throw new NsmError('InvalidArgument', 'ExtendPCR data must be bytes');
    if (data.length > maxExtendDataBytes(index)) throw new NsmError('InputTooLarge', 'ExtendPCR data does not fit a 4096-byte request');
    if (this.locked[index] === true) throw new NsmError('ReadOnlyIndex', `PCR${index} is locked`);
    const next = extendPcrValue(this.values[index] as Uint8Array, data);
    this.values[index] = next;
    return Uint8Array.from(next);
  }

  async lockPcr(index: number): Promise<void> {
    this.checkOpen();
    this.checkIndex(index);
    if (this.locked[index] === true) throw new NsmError('ReadOnlyIndex', `PCR${index} is already locked`);
    this.locked[index] = true;
  }

  async lockPcrs(range: number): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(range) || range < 0 || range > 0xffff) throw new NsmError('InvalidArgument', 'LockPCRs range must be a u16');
    if (range > SIM_NSM_MAX_PCRS) throw new NsmError('InvalidIndex', `LockPCRs range ${range} exceeds ${SIM_NSM_MAX_PCRS} PCRs`);
    for (let index = 0; index < range; index += 1) this.locked[index] = true;
  }

  async describeNsm(): Promise<NsmDescription> {
    this.checkOpen();
    return {
      ...VERSION,
      moduleId: this.moduleId,
      maxPcrs: SIM_NSM_MAX_PCRS,
      lockedPcrs: this.lockedIndexes(),
      digest: 'SHA384',
    };
  }

  async attest(request: AttestationRequest): Promise<Uint8Array> {
    this.checkOpen();
    const userData = this.optionalField('user_data', request.userData);
    const nonce = this.optionalField('nonce', request.nonce);
    const publicKey = this.optionalField('public_key', request.publicKey);
    const now = this.now();
    const { leaf, cabundle } = await this.currentLeaf(now);
    const pcrs = new Map(this.lockedIndexes().map((index) => [index, Uint8Array.from(this.values[index] as Uint8Array)]));
    return buildAttestationDocument(
      { moduleId: this.moduleId, timestamp: now, pcrs, certificate: leaf.der, cabundle, publicKey, userData, nonce },
      leaf.privateKey,
      this.payloadMap,
    );
  }

  /**
   * A NitroTPM-shaped document (`nitrotpm_pcrs` with the given TPM registers 0..23, signed by the
   * same simulated PKI), as an EC2 instance with NitroTPM obtains one. Not part of the NSM API:
   * tests use it to check that verifiers and KMS keep NitroTPM and enclave documents apart.
   */
  async attestNitroTpm(request: AttestationRequest, tpmPcrs: Readonly<Record<number, string | Uint8Array>>): Promise<Uint8Array> {
    this.checkOpen();
    const userData = this.optionalField('user_data', request.userData);
    const nonce = this.optionalField('nonce', request.nonce);
    const publicKey = this.optionalField('public_key', request.publicKey);
    const pcrs = new Map<number, Uint8Array>();
    for (const [key, value] of Object.entries(tpmPcrs)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= NITROTPM_PCR_COUNT) throw new RangeError(`NitroTPM PCRs are 0-${NITROTPM_PCR_COUNT - 1}`);
      pcrs.set(index, toPcrBytes(index, value));
    }
    if (pcrs.size === 0) throw new RangeError('a NitroTPM document carries at least one PCR');
    const now = this.now();
    const { leaf, cabundle } = await this.currentLeaf(now);
    return buildAttestationDocument(
      { moduleId: this.moduleId, timestamp: now, pcrs, nitroTpm: true, certificate: leaf.der, cabundle, publicKey, userData, nonce },
      leaf.privateKey,
      this.payloadMap,
    );
  }

  async getRandom(): Promise<Uint8Array> {
    this.checkOpen();
    return new Uint8Array(randomBytes(SIM_NSM_RANDOM_BYTES));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.leaf = undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw new ServiceError('ERR_NSM_UNAVAILABLE', 'the simulated NSM is closed');
  }

  private checkIndex(index: number): void {
    // The wire type is u16: anything else cannot even be encoded as a request.
    if (!Number.isInteger(index) || index < 0 || index > 0xffff) throw new NsmError('InvalidArgument', 'PCR index must be a u16');
    if (index >= SIM_NSM_MAX_PCRS) throw new NsmError('InvalidIndex', `PCR${index} does not exist (${SIM_NSM_MAX_PCRS} PCRs)`);
  }

  private optionalField(name: string, value: Uint8Array | undefined): Uint8Array | null {
    if (value === undefined) return null;
    if (!(value instanceof Uint8Array)) throw new NsmError('InvalidArgument', `${name} must be bytes`);
    if (value.length > LIMITS.attestationFieldMaxBytes) {
      throw new NsmError('InputTooLarge', `${name} is ${value.length} bytes; at most ${LIMITS.attestationFieldMaxBytes}`);
    }
    // An empty value stays an empty bstr (real_doc_1 has public_key = h''), not null.
    return Uint8Array.from(value);
  }

  private lockedIndexes(): number[] {
    return this.locked.flatMap((isLocked, index) => (isLocked ? [index] : []));
  }

  /** The boot's leaf, issued on first use and re-issued when less than 30 min of it remain. */
  private async currentLeaf(now: number): Promise<IssuedLeaf> {
    const pending = this.leaf;
    if (pending !== undefined) {
      const current = await pending.catch(() => undefined);
      if (current !== undefined && current.leaf.notBefore <= now && current.leaf.notAfter - now >= LEAF_MIN_REMAINING_MS) {
        return current;
      }
      // Another caller may have replaced a stale leaf while this one waited.
      if (this.leaf !== pending) return this.currentLeaf(now);
    }
    const issuing = this.pki.issueLeaf(this.moduleId, now);
    this.leaf = issuing;
    try {
      return await issuing;
    } catch (error) {
      if (this.leaf === issuing) this.leaf = undefined;
      throw error;
    }
  }
}
