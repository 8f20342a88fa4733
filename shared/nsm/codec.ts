/**
 * The NSM's wire messages: the `Request` and `Response` enums of aws/aws-nitro-enclaves-nsm-api
 * (src/api/mod.rs @8ec7eac7) as serde_cbor 0.11 writes them (docs/formats.md section 4.2):
 * - a unit variant is bare text (`"DescribeNSM"`, `"LockPCR"`);
 * - a struct variant is a one-pair map `{ "Variant": { field: value, ... } }`, fields in declaration
 *   order, definite lengths;
 * - a newtype variant is `{ "Variant": value }` (only `Error(ErrorCode)`);
 * - `Option::None` is null (f6) and the key is still written; `serde_bytes` / `ByteBuf` are bstr;
 *   `ErrorCode` and `Digest` are text; `BTreeSet<u16>` is an ascending array.
 *
 * Decoding follows serde's derive rules, so that we accept what the Rust nsm-api accepts: struct
 * fields in any order, unknown fields ignored, a missing `Option` field read as None, every other
 * missing field or wrong type rejected. Anything else is ERR_NSM_MALFORMED; nothing else is thrown.
 */
import { decodeCbor, encodeCbor } from '../cbor.js';
import { EnclaveKitError, ServiceError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { NSM_ERROR_CODES, type NsmDescription, type NsmDigest, type NsmErrorCode } from './types.js';

export type NsmRequest =
  | { kind: 'DescribePCR'; index: number }
  | { kind: 'ExtendPCR'; index: number; data: Uint8Array }
  | { kind: 'LockPCR'; index: number }
  | { kind: 'LockPCRs'; range: number }
  | { kind: 'DescribeNSM' }
  | { kind: 'Attestation'; userData: Uint8Array | null; nonce: Uint8Array | null; publicKey: Uint8Array | null }
  | { kind: 'GetRandom' };

export type NsmResponse =
  | { kind: 'DescribePCR'; lock: boolean; data: Uint8Array }
  | { kind: 'ExtendPCR'; data: Uint8Array }
  | { kind: 'LockPCR' }
  | { kind: 'LockPCRs' }
  | ({ kind: 'DescribeNSM' } & NsmDescription)
  | { kind: 'Attestation'; document: Uint8Array }
  | { kind: 'GetRandom'; random: Uint8Array }
  | { kind: 'Error'; code: NsmErrorCode };

const NSM_DIGESTS: readonly NsmDigest[] = ['SHA256', 'SHA384', 'SHA512'];
const U16_MAX = 0xffff;

/**
 * An error answer of the NSM (`Response::Error(code)`), as the enclave sees it: ERR_NSM, with the
 * NSM ErrorCode in the message and in `nsmCode`. Implementations of `Nsm` (the simulator too)
 * throw this so that a raw-socket server can send the same `Error` variant back.
 */
export class NsmError extends ServiceError {
  readonly nsmCode: NsmErrorCode;
  constructor(nsmCode: NsmErrorCode, detail?: string, options?: { cause?: unknown }) {
    super('ERR_NSM', detail === undefined ? `NSM error ${nsmCode}` : `NSM error ${nsmCode}: ${detail}`, options);
    this.nsmCode = nsmCode;
  }
}

export function isNsmErrorCode(value: unknown): value is NsmErrorCode {
  return typeof value === 'string' && (NSM_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * The NSM ErrorCode to answer for an error thrown by an `Nsm` implementation: its `nsmCode` when it
 * has one, else an ERR_NSM error whose message names a code, else InvalidArgument for a caller
 * mistake (RangeError / TypeError), else InternalError.
 */
export function nsmErrorCodeOf(error: unknown): NsmErrorCode {
  if (typeof error === 'object' && error !== null) {
    const own = (error as { nsmCode?: unknown }).nsmCode;
    if (isNsmErrorCode(own)) return own;
  }
  if (error instanceof EnclaveKitError && error.code === 'ERR_NSM') {
    for (const code of NSM_ERROR_CODES) {
      if (code !== 'Success' && new RegExp(`\\b${code}\\b`).test(error.message)) return code;
    }
  }
  if (error instanceof RangeError || error instanceof TypeError) return 'InvalidArgument';
  return 'InternalError';
}

function malformed(what: string, cause?: unknown): ServiceError {
  return new ServiceError('ERR_NSM_MALFORMED', `malformed NSM ${what}`, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------
// Encoding

function u16(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > U16_MAX) throw new RangeError(`${name} must be a u16`);
  return value;
}

function bytes(value: Uint8Array, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

function optionalBytes(value: Uint8Array | null, name: string): Uint8Array | null {
  return value === null ? null : bytes(value, name);
}

/** `{ variant: { k: v, ... } }` with the fields in the order given (serde declaration order). */
function structVariant(variant: string, fields: readonly (readonly [string, unknown])[]): Uint8Array {
  return encodeCbor(new Map([[variant, new Map(fields)]]));
}

export function encodeNsmRequest(request: NsmRequest): Uint8Array {
  switch (request.kind) {
    case 'DescribePCR':
      return structVariant('DescribePCR', [['index', u16(request.index, 'index')]]);
    case 'ExtendPCR':
      return structVariant('ExtendPCR', [
        ['index', u16(request.index, 'index')],
        ['data', bytes(request.data, 'data')],
      ]);
    case 'LockPCR':
      return structVariant('LockPCR', [['index', u16(request.index, 'index')]]);
    case 'LockPCRs':
      return structVariant('LockPCRs', [['range', u16(request.range, 'range')]]);
    case 'Attestation':
      // All three keys, in declaration order, null when absent (docs/formats.md 4.2).
      return structVariant('Attestation', [
        ['user_data', optionalBytes(request.userData, 'userData')],
        ['nonce', optionalBytes(request.nonce, 'nonce')],
        ['public_key', optionalBytes(request.publicKey, 'publicKey')],
      ]);
    case 'DescribeNSM':
    case 'GetRandom':
      return encodeCbor(request.kind);
  }
}

export function encodeNsmResponse(response: NsmResponse): Uint8Array {
  switch (response.kind) {
    case 'DescribePCR':
      if (typeof response.lock !== 'boolean') throw new TypeError('lock must be a boolean');
      return structVariant('DescribePCR', [
        ['lock', response.lock],
        ['data', bytes(response.data, 'data')],
      ]);
    case 'ExtendPCR':
      return structVariant('ExtendPCR', [['data', bytes(response.data, 'data')]]);
    case 'DescribeNSM': {
      if (typeof response.moduleId !== 'string') throw new TypeError('moduleId must be a string');
      if (!NSM_DIGESTS.includes(response.digest)) throw new RangeError('digest must be SHA256, SHA384 or SHA512');
      // BTreeSet<u16>: ascending, without duplicates.
      const locked = [...new Set(response.lockedPcrs.map((i) => u16(i, 'lockedPcrs')))].sort((a, b) => a - b);
      return structVariant('DescribeNSM', [
        ['version_major', u16(response.versionMajor, 'versionMajor')],
        ['version_minor', u16(response.versionMinor, 'versionMinor')],
        ['version_patch', u16(response.versionPatch, 'versionPatch')],
        ['module_id', response.moduleId],
        ['max_pcrs', u16(response.maxPcrs, 'maxPcrs')],
        ['locked_pcrs', locked],
        ['digest', response.digest],
      ]);
    }
    case 'Attestation':
      return structVariant('Attestation', [['document', bytes(response.document, 'document')]]);
    case 'GetRandom':
      return structVariant('GetRandom', [['random', bytes(response.random, 'random')]]);
    case 'Error':
      if (!isNsmErrorCode(response.code)) throw new RangeError('unknown NSM error code');
      return encodeCbor(new Map([['Error', response.code]]));
    case 'LockPCR':
    case 'LockPCRs':
      return encodeCbor(response.kind);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A decoded enum value: the variant name and, for non-unit variants, its content. */
interface Variant {
  name: string;
  content: unknown;
  unit: boolean;
}

function decodeVariant(input: Uint8Array, maxBytes: number, what: string): Variant {
  if (!(input instanceof Uint8Array)) throw malformed(what);
  if (input.length === 0) throw malformed(what);
  if (input.length > maxBytes) throw malformed(`${what} (larger than ${maxBytes} bytes)`);
  let value: unknown;
  try {
    value = decodeCbor(input);
  } catch (cause) {
    throw malformed(what, cause);
  }
  if (typeof value === 'string') return { name: value, content: undefined, unit: true };
  if (value instanceof Map && value.size === 1) {
    const [name, content] = (value as Map<unknown, unknown>).entries().next().value ?? [];
    if (typeof name === 'string') return { name, content, unit: false };
  }
  throw malformed(what);
}

/** Field reader over a struct variant's map, with serde's derive semantics (see the file comment). */
class Fields {
  private readonly map: Map<unknown, unknown>;
  constructor(
    content: unknown,
    private readonly what: string,
  ) {
    if (!(content instanceof Map)) throw malformed(what);
    this.map = content;
  }

  private required(key: string): unknown {
    if (!this.map.has(key)) throw malformed(`${this.what}: missing ${key}`);
    return this.map.get(key);
  }

  u16(key: string): number {
    const value = this.required(key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U16_MAX) {
      throw malformed(`${this.what}: ${key} is not a u16`);
    }
    return value;
  }

  bool(key: string): boolean {
    const value = this.required(key);
    if (typeof value !== 'boolean') throw malformed(`${this.what}: ${key} is not a bool`);
    return value;
  }

  text(key: string): string {
    const value = this.required(key);
    if (typeof value !== 'string') throw malformed(`${this.what}: ${key} is not text`);
    return value;
  }

  /** A copy, so that the result never aliases the input buffer. */
  bytes(key: string, maxBytes: number): Uint8Array {
    const value = this.required(key);
    if (!(value instanceof Uint8Array)) throw malformed(`${this.what}: ${key} is not a byte string`);
    if (value.length > maxBytes) throw malformed(`${this.what}: ${key} is too long`);
    return new Uint8Array(value);
  }

  /** serde reads a missing `Option` field as None. */
  optionalBytes(key: string, maxBytes: number): Uint8Array | null {
    if (!this.map.has(key) || this.map.get(key) === null) return null;
    return this.bytes(key, maxBytes);
  }

  u16Set(key: string): number[] {
    const value = this.required(key);
    if (!Array.isArray(value)) throw malformed(`${this.what}: ${key} is not an array`);
    const set = new Set<number>();
    for (const item of value) {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > U16_MAX) {
        throw malformed(`${this.what}: ${key} holds a non-u16`);
      }
      set.add(item);
    }
    return [...set].sort((a, b) => a - b);
  }
}

function expectUnit(v: Variant, what: string): void {
  if (!v.unit) throw malformed(`${what}: ${v.name} carries content`);
}

function expectStruct(v: Variant, what: string): Fields {
  if (v.unit) throw malformed(`${what}: ${v.name} lacks its fields`);
  return new Fields(v.content, `${what} ${v.name}`);
}

/** Decodes a raw NSM request (at most LIMITS.nsmRequestMaxBytes). Throws ERR_NSM_MALFORMED only. */
export function decodeNsmRequest(input: Uint8Array): NsmRequest {
  const what = 'request';
  const v = decodeVariant(input, LIMITS.nsmRequestMaxBytes, what);
  const max = LIMITS.nsmRequestMaxBytes;
  switch (v.name) {
    case 'DescribePCR':
      return { kind: 'DescribePCR', index: expectStruct(v, what).u16('index') };
    case 'ExtendPCR': {
      const f = expectStruct(v, what);
      return { kind: 'ExtendPCR', index: f.u16('index'), data: f.bytes('data', max) };
    }
    case 'LockPCR':
      return { kind: 'LockPCR', index: expectStruct(v, what).u16('index') };
    case 'LockPCRs':
      return { kind: 'LockPCRs', range: expectStruct(v, what).u16('range') };
    case 'Attestation': {
      const f = expectStruct(v, what);
      return {
        kind: 'Attestation',
        userData: f.optionalBytes('user_data', max),
        nonce: f.optionalBytes('nonce', max),
        publicKey: f.optionalBytes('public_key', max),
      };
    }
    case 'DescribeNSM':
    case 'GetRandom':
      expectUnit(v, what);
      return { kind: v.name };
    default:
      throw malformed(`${what}: unknown variant`);
  }
}

/** Decodes a raw NSM response (at most LIMITS.nsmResponseMaxBytes). Throws ERR_NSM_MALFORMED only. */
export function decodeNsmResponse(input: Uint8Array): NsmResponse {
  const what = 'response';
  const v = decodeVariant(input, LIMITS.nsmResponseMaxBytes, what);
  const max = LIMITS.nsmResponseMaxBytes;
  switch (v.name) {
    case 'DescribePCR': {
      const f = expectStruct(v, what);
      return { kind: 'DescribePCR', lock: f.bool('lock'), data: f.bytes('data', max) };
    }
    case 'ExtendPCR':
      return { kind: 'ExtendPCR', data: expectStruct(v, what).bytes('data', max) };
    case 'DescribeNSM': {
      const f = expectStruct(v, what);
      const digest = f.text('digest');
      if (!(NSM_DIGESTS as readonly string[]).includes(digest)) throw malformed(`${what} DescribeNSM: unknown digest`);
      return {
        kind: 'DescribeNSM',
        versionMajor: f.u16('version_major'),
        versionMinor: f.u16('version_minor'),
        versionPatch: f.u16('version_patch'),
        moduleId: f.text('module_id'),
        maxPcrs: f.u16('max_pcrs'),
        lockedPcrs: f.u16Set('locked_pcrs'),
        digest: digest as NsmDigest,
      };
    }
    case 'Attestation':
      return { kind: 'Attestation', document: expectStruct(v, what).bytes('document', max) };
    case 'GetRandom':
      return { kind: 'GetRandom', random: expectStruct(v, what).bytes('random', max) };
    case 'Error':
      if (v.unit || !isNsmErrorCode(v.content)) throw malformed(`${what}: unknown NSM error code`);
      return { kind: 'Error', code: v.content };
    case 'LockPCR':
    case 'LockPCRs':
      expectUnit(v, what);
      return { kind: v.name };
    default:
      throw malformed(`${what}: unknown variant`);
  }
}
