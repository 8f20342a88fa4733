/**
 * A strict DER TLV reader (ITU-T X.690 §8.1, §10.1) for the X.509 certificates of the Nitro PKI.
 *
 * Why not @peculiar/x509 / asn1js on the verification path: measured on Node 20 here, a full
 * schema parse costs ~400 µs per certificate and a BasicConstraints value alone ~65 µs, against
 * ~630 µs for the P-384 signature check it guards; a cold verification has four certificates to
 * read. This walker only locates TLVs (~µs); test/attestation/certificate.test.ts checks every
 * field it yields against @peculiar/x509 on all real certificates.
 *
 * DER only: single-byte tags (low tag numbers), definite minimal lengths. Errors are plain
 * `DerError`s; the certificate layer turns them into chain errors that name the certificate.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_IA5_STRING = 0x16;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/** One TLV: its tag, its contents and the whole encoding, both as views. */
export interface Tlv {
  tag: number;
  contents: Uint8Array;
  whole: Uint8Array;
}

export class DerReader {
  private pos: number;

  constructor(private readonly bytes: Uint8Array) {
    this.pos = 0;
  }

  atEnd(): boolean {
    return this.pos === this.bytes.length;
  }

  peekTag(): number | undefined {
    return this.bytes[this.pos];
  }

  read(expectedTag?: number): Tlv {
    const start = this.pos;
    const tag = this.bytes[this.pos];
    if (tag === undefined) throw new DerError('unexpected end of data');
    if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in these certificates');
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw new DerError(`expected tag 0x${expectedTag.toString(16)}, found 0x${tag.toString(16)}`);
    }
    let length = this.bytes[this.pos + 1];
    if (length === undefined) throw new DerError('unexpected end of data');
    this.pos += 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      // 0x80 is the BER indefinite form; 4 octets already exceed any document we accept.
      if (octets === 0 || octets > 3) throw new DerError('unsupported length form');
      if (this.bytes.length - this.pos < octets) throw new DerError('unexpected end of data');
      length = 0;
      for (let i = 0; i < octets; i += 1) length = length * 256 + (this.bytes[this.pos + i] as number);
      this.pos += octets;
      // X.690 §10.1: the minimum number of length octets.
      if (length < 0x80 || length < 2 ** (8 * (octets - 1))) throw new DerError('non-minimal length');
    }
    if (this.bytes.length - this.pos < length) throw new DerError('length exceeds the data');
    const contents = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return { tag, contents, whole: this.bytes.subarray(start, this.pos) };
  }

  /** Reads the next TLV only if it carries `tag`. */
  readOptional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.read(tag) : undefined;
  }

  end(what: string): void {
    if (!this.atEnd()) throw new DerError(`trailing data in ${what}`);
  }
}

/** Reads exactly one TLV that spans all of `bytes`. */
export function readSingle(bytes: Uint8Array, tag: number, what: string): Tlv {
  const reader = new DerReader(bytes);
  const tlv = reader.read(tag);
  reader.end(what);
  return tlv;
}

/** Dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function oidToString(contents: Uint8Array): string {
  if (contents.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < contents.length; i += 1) {
    const byte = contents[i] as number;
    if (value === 0 && byte === 0x80) throw new DerError('non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if ((contents[contents.length - 1] as number) & 0x80) throw new DerError('truncated OID');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** A small non-negative INTEGER (X.690 §8.3), e.g. a pathLenConstraint. */
export function readSmallUint(contents: Uint8Array): number {
  if (contents.length === 0 || contents.length > 4) throw new DerError('integer out of range');
  if ((contents[0] as number) & 0x80) throw new DerError('negative integer');
  if (contents.length > 1 && contents[0] === 0 && ((contents[1] as number) & 0x80) === 0) throw new DerError('non-minimal integer');
  let value = 0;
  for (const byte of contents) value = value * 256 + byte;
  return value;
}

/** X.690 §11.1: DER TRUE is 0xff, FALSE 0x00. */
export function readBoolean(contents: Uint8Array): boolean {
  if (contents.length !== 1 || (contents[0] !== 0x00 && contents[0] !== 0xff)) throw new DerError('invalid BOOLEAN');
  return contents[0] === 0xff;
}

/**
 * UTCTime / GeneralizedTime as RFC 5280 §4.1.2.5 profiles them: `YYMMDDHHMMSSZ` (years 1950-2049)
 * or `YYYYMMDDHHMMSSZ`, seconds present, Zulu, no fraction. Returns ms since the epoch.
 * Read digit by digit: this runs for every certificate of a cold verification.
 */
export function readTime(tlv: Tlv): number {
  const text = tlv.contents;
  let year: number;
  let at: number;
  if (tlv.tag === TAG_UTC_TIME && text.length === 13) {
    const yy = digits(text, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = 2;
  } else if (tlv.tag === TAG_GENERALIZED_TIME && text.length === 15) {
    year = digits(text, 0, 4);
    at = 4;
  } else {
    throw new DerError('invalid certificate time');
  }
  if (text[text.length - 1] !== 0x5a) throw new DerError('certificate time is not in UTC (Z)');
  const month = digits(text, at, 2);
  const day = digits(text, at + 2, 2);
  const hour = digits(text, at + 4, 2);
  const minute = digits(text, at + 6, 2);
  const second = digits(text, at + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new DerError('invalid certificate time');
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year >= 100) return ms;
  // Date.UTC maps years 0..99 to 1900..1999.
  const date = new Date(ms);
  date.setUTCFullYear(year);
  return date.getTime();
}

function digits(text: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i += 1) {
    const digit = (text[i] as number) - 0x30;
    if (digit < 0 || digit > 9) throw new DerError('invalid certificate time');
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
