/**
 * The Nitro Secure Module API as one interface (aws/aws-nitro-enclaves-nsm-api src/api/mod.rs).
 * Two implementations: the device client (enclave/nsm, /dev/nsm ioctl or a raw-CBOR socket to the
 * simulator) and the in-process simulator (sim/nsm). Everything above them sees only `Nsm`.
 */

/** NSM ErrorCode variants, in declaration order (docs/formats.md section 4.2). */
export const NSM_ERROR_CODES = [
  'Success',
  'InvalidArgument',
  'InvalidIndex',
  'InvalidResponse',
  'ReadOnlyIndex',
  'InvalidOperation',
  'BufferTooSmall',
  'InputTooLarge',
  'InternalError',
] as const;
export type NsmErrorCode = (typeof NSM_ERROR_CODES)[number];

export type NsmDigest = 'SHA256' | 'SHA384' | 'SHA512';

export interface NsmDescription {
  versionMajor: number;
  versionMinor: number;
  versionPatch: number;
  moduleId: string;
  maxPcrs: number;
  lockedPcrs: number[];
  digest: NsmDigest;
}

export interface PcrDescription {
  lock: boolean;
  data: Uint8Array;
}

export interface AttestationRequest {
  userData?: Uint8Array | undefined;
  nonce?: Uint8Array | undefined;
  publicKey?: Uint8Array | undefined;
}

export interface Nsm {
  describePcr(index: number): Promise<PcrDescription>;
  /** PCR = SHA384(PCR ‖ data); returns the new value. Locked PCRs refuse (ReadOnlyIndex). */
  extendPcr(index: number, data: Uint8Array): Promise<Uint8Array>;
  lockPcr(index: number): Promise<void>;
  /** Locks PCRs [0, range). */
  lockPcrs(range: number): Promise<void>;
  describeNsm(): Promise<NsmDescription>;
  /** Returns the COSE_Sign1 attestation document bytes. */
  attest(request: AttestationRequest): Promise<Uint8Array>;
  getRandom(): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** Raw request/response bytes, as through the /dev/nsm ioctl (NSM_IOCTL_RAW). */
export interface NsmTransport {
  call(request: Uint8Array): Promise<Uint8Array>;
  close?(): Promise<void>;
}
