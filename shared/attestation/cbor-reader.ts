/**
 * A strict CBOR cursor (RFC 8949 §3) for the few shapes a Nitro attestation document uses.
 *
 * Why not cbor-x here: the COSE signature covers the *original* protected-header and payload bytes
 * (RFC 9052 §4.4), so the verifier needs exact byte slices, which a decoder does not return; a
 * decoder into `Map` also merges duplicate keys silently, concatenates chunked strings and accepts
 * tags and floats where the NSM never writes them. Reading the fixed schema with a cursor gives
 * zero-copy views, exact positions for error messages and one code for every structural fault.
 * (shared/cbor.ts stays the codec for writing documents and for the NSM messages.)
 *
 * Accepted: definite- and indefinite-length maps and arrays (the NSM writes the payload map as
 * 0xbf…0xff since 2025: docs/formats.md section 0 item 1). Refused: heads longer than needed,
 * indefinite-length (chunked) byte and text strings, reserved additional-information values
 * 28-30, ill-formed UTF-8, anything past the end.
 */
import { AttestationError } from '../errors.js';

export const MAJOR_UINT = 0;
export const MAJOR_NEGINT = 1;
export const MAJOR_BYTES = 2;
export const MAJOR_TEXT = 3;
export const MAJOR_ARRAY = 4;
export const MAJOR_MAP = 5;
export const MAJOR_TAG = 6;
export const MAJOR_SIMPLE = 7;

const BREAK = 0xff;
const NULL = 0xf6;

const MAJOR_NAMES = ['an unsigned integer', 'a negative integer', 'a byte string', 'a text string', 'an array', 'a map', 'a tag', 'a simple value'];

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function malformed(message: string, cause?: unknown): AttestationError {
  return new AttestationError('ERR_ATTESTATION_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/** One item head: major type, argument (a count, length or value) and whether it is indefinite. */
export interface CborHead {
  major: number;
  /** The argument; bigint only when it does not fit a safe integer. */
  value: number | bigint;
  indefinite: boolean;
}

export class CborCursor {
  pos: number;

  /** `what` names the structure in error messages ("payload", "COSE_Sign1"). */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.pos = 0;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  atEnd(): boolean {
    return this.pos === this.bytes.length;
  }

  fail(message: string): AttestationError {
    return malformed(`${this.what}: ${message} (at byte ${this.pos})`);
  }

  peekByte(): number {
    const byte = this.bytes[this.pos];
    if (byte === undefined) throw this.fail('unexpected end of data');
    return byte;
  }

  private take(count: number): number {
    // Multi-byte arguments are big-endian (RFC 8949 §3).
    if (this.remaining < count) throw this.fail('unexpected end of data');
    let value = 0;
    for (let i = 0; i < count; i += 1) value = value * 256 + (this.bytes[this.pos + i] as number);
    this.pos += count;
    return value;
  }

  readHead(): CborHead {
    const initial = this.peekByte();
    this.pos += 1;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info < 24) return { major, value: info, indefinite: false };
    if (info <= 27) {
      // RFC 8949 §4.2.1 preferred serialization: the shortest head. serde_cbor (the NSM's encoder)
      // writes nothing else, and refusing longer heads leaves no second encoding of a document.
      let value: number | bigint;
      let minimum: number;
      if (info === 24) [value, minimum] = [this.take(1), 24];
      else if (info === 25) [value, minimum] = [this.take(2), 0x100];
      else if (info === 26) [value, minimum] = [this.take(4), 0x1_0000];
      else {
        const high = this.take(4);
        const low = this.take(4);
        // 2^53 - 1 has 21 bits in the high word.
        value = high < 0x200000 ? high * 0x1_0000_0000 + low : (BigInt(high) << 32n) | BigInt(low);
        minimum = 0x1_0000_0000;
      }
      if (value < minimum) throw this.fail('integer or length not in its shortest form');
      return { major, value, indefinite: false };
    }
    if (info === 31 && major >= MAJOR_BYTES && major !== MAJOR_TAG) return { major, value: 0, indefinite: true };
    this.pos -= 1;
    throw this.fail(`invalid initial byte 0x${initial.toString(16).padStart(2, '0')}`);
  }

  private expect(head: CborHead, major: number, label: string): void {
    if (head.major !== major) throw this.fail(`${label} must be ${MAJOR_NAMES[major]}, found ${MAJOR_NAMES[head.major]}`);
  }

  /** A definite length that fits in what is left; `label` names the field in errors. */
  private length(head: CborHead, label: string): number {
    if (head.indefinite) throw this.fail(`${label} must have a definite length`);
    if (typeof head.value !== 'number' || head.value > this.remaining) throw this.fail(`${label} is longer than the data`);
    return head.value;
  }

  readUint(label: string): number | bigint {
    const head = this.readHead();
    this.expect(head, MAJOR_UINT, label);
    return head.value;
  }

  /** A definite-length byte string as a view into the input (no copy). */
  readBytes(label: string): Uint8Array {
    const head = this.readHead();
    this.expect(head, MAJOR_BYTES, label);
    const length = this.length(head, label);
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  readText(label: string): string {
    const head = this.readHead();
    this.expect(head, MAJOR_TEXT, label);
    const length = this.length(head, label);
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    try {
      return utf8.decode(view);
    } catch (error) {
      throw malformed(`${this.what}: ${label} is not valid UTF-8`, error);
    }
  }

  /** Map header: the pair count, or null for an indefinite-length map (ended by `readBreak`). */
  readMapStart(label: string): number | null {
    const head = this.readHead();
    this.expect(head, MAJOR_MAP, label);
    return this.count(head, label, 2);
  }

  readArrayStart(label: string): number | null {
    const head = this.readHead();
    this.expect(head, MAJOR_ARRAY, label);
    return this.count(head, label, 1);
  }

  private count(head: CborHead, label: string, minBytesPerEntry: number): number | null {
    if (head.indefinite) return null;
    // Each entry takes at least one byte per item: a count larger than the rest is a lie, refused
    // before any loop or allocation trusts it.
    if (typeof head.value !== 'number' || head.value * minBytesPerEntry > this.remaining) {
      throw this.fail(`${label} has more entries than the data can hold`);
    }
    return head.value;
  }

  /** Consumes the 0xff that ends an indefinite-length container, if it is next. */
  readBreak(): boolean {
    if (this.peekByte() !== BREAK) return false;
    this.pos += 1;
    return true;
  }

  /** Consumes CBOR null (0xf6) if it is next. */
  readNull(): boolean {
    if (this.peekByte() !== NULL) return false;
    this.pos += 1;
    return true;
  }

  /** An optional tag: returns its number and consumes it, or undefined when no tag is next. */
  readOptionalTag(): number | bigint | undefined {
    if (this.peekByte() >> 5 !== MAJOR_TAG) return undefined;
    return this.readHead().value;
  }
}
