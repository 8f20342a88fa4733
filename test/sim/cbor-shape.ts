/**
 * A byte-level CBOR walker (RFC 8949 §3) for structure comparisons: it reports what a decoder
 * hides, namely major types, definite vs indefinite lengths, header widths and key order.
 * Test-only; it handles what attestation documents contain and throws on anything else.
 */

export interface Head {
  major: number;
  /** The 5-bit additional information (27 = 8-byte argument, 31 = indefinite). */
  info: number;
  /** Argument: the value (major 0/1/7), the length or count (2-5), null when indefinite. */
  argument: bigint | null;
  /** Offset of the item's content (after the head). */
  contentStart: number;
}

export function readHead(bytes: Uint8Array, offset: number): Head {
  const first = bytes[offset];
  if (first === undefined) throw new RangeError(`CBOR truncated at ${offset}`);
  const major = first >> 5;
  const info = first & 0x1f;
  if (info < 24) return { major, info, argument: BigInt(info), contentStart: offset + 1 };
  if (info === 31) return { major, info, argument: null, contentStart: offset + 1 };
  const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
  if (width === undefined) throw new RangeError(`reserved additional info ${info}`);
  let argument = 0n;
  for (let i = 1; i <= width; i += 1) argument = (argument << 8n) | BigInt(bytes[offset + i] ?? 0);
  return { major, info, argument, contentStart: offset + 1 + width };
}

/** Offset just after the item starting at `offset`. */
export function skipItem(bytes: Uint8Array, offset: number): number {
  const head = readHead(bytes, offset);
  const { major, argument } = head;
  let at = head.contentStart;
  if (argument === null) {
    if (major === 7) throw new RangeError('unexpected break');
    while (bytes[at] !== 0xff) at = major === 5 ? skipItem(bytes, skipItem(bytes, at)) : skipItem(bytes, at);
    return at + 1;
  }
  switch (major) {
    case 0:
    case 1:
    case 7:
      return at;
    case 2:
    case 3:
      return at + Number(argument);
    case 4:
      for (let i = 0n; i < argument; i += 1n) at = skipItem(bytes, at);
      return at;
    case 5:
      for (let i = 0n; i < argument; i += 1n) at = skipItem(bytes, skipItem(bytes, at));
      return at;
    case 6:
      return skipItem(bytes, at);
    default:
      throw new RangeError(`major type ${major}`);
  }
}

const MAJOR_NAMES = ['uint', 'nint', 'bstr', 'text', 'array', 'map', 'tag', 'simple'];

/** e.g. "text(39)", "uint/27", "map(*)", "bstr(48)", "null". */
export function describeHead(bytes: Uint8Array, offset: number): string {
  const head = readHead(bytes, offset);
  if (head.major === 7 && head.info === 22) return 'null';
  const name = MAJOR_NAMES[head.major] as string;
  if (head.major === 0) return `${name}/${head.info}`;
  return head.argument === null ? `${name}(*)` : `${name}(${head.argument})`;
}

export interface DocumentShape {
  /** Heads of the COSE_Sign1 array and its four members. */
  envelope: string[];
  protectedHex: string;
  payloadMap: string;
  keys: string[];
  /** Head of each payload value, by key. Certificates: only "bstr" (their length varies). */
  values: Record<string, string>;
  pcrs: string[];
  cabundle: string[];
  /** Lengths of the certificates, leaf first. */
  certificateLengths: number[];
}

function slice(bytes: Uint8Array, offset: number): Uint8Array {
  const head = readHead(bytes, offset);
  return bytes.subarray(head.contentStart, head.contentStart + Number(head.argument));
}

/** The byte-level shape of a Nitro attestation document (docs/formats.md section 1.1 and 1.3). */
export function documentShape(doc: Uint8Array): DocumentShape {
  const envelope: string[] = [describeHead(doc, 0)];
  let at = readHead(doc, 0).contentStart;
  const members: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    members.push(at);
    envelope.push(describeHead(doc, at));
    at = skipItem(doc, at);
  }
  if (at !== doc.length) throw new RangeError('trailing bytes after COSE_Sign1');
  const protectedBytes = slice(doc, members[0] as number);
  const payload = slice(doc, members[2] as number);

  const map = readHead(payload, 0);
  const keys: string[] = [];
  const values: Record<string, string> = {};
  const pcrs: string[] = [];
  const cabundle: string[] = [];
  const certificateLengths: number[] = [];
  let p = map.contentStart;
  const more = (): boolean => (map.argument === null ? payload[p] !== 0xff : keys.length < Number(map.argument));
  while (more()) {
    const key = new TextDecoder().decode(slice(payload, p));
    keys.push(key);
    p = skipItem(payload, p);
    const head = describeHead(payload, p);
    values[key] = key === 'certificate' ? head.replace(/\(\d+\)/, '') : head;
    if (key === 'certificate') certificateLengths.unshift(Number(readHead(payload, p).argument));
    if (key === 'pcrs') {
      let q = readHead(payload, p).contentStart;
      for (let i = 0; i < Number(readHead(payload, p).argument); i += 1) {
        pcrs.push(`${describeHead(payload, q)}:${describeHead(payload, skipItem(payload, q))}`);
        q = skipItem(payload, skipItem(payload, q));
      }
    }
    if (key === 'cabundle') {
      let q = readHead(payload, p).contentStart;
      for (let i = 0; i < Number(readHead(payload, p).argument); i += 1) {
        cabundle.push(describeHead(payload, q).replace(/\(\d+\)/, ''));
        certificateLengths.push(Number(readHead(payload, q).argument));
        q = skipItem(payload, q);
      }
    }
    p = skipItem(payload, p);
  }
  if (map.argument === null) p += 1;
  if (p !== payload.length) throw new RangeError('trailing bytes after the payload map');
  return {
    envelope,
    protectedHex: Buffer.from(protectedBytes).toString('hex'),
    payloadMap: describeHead(payload, 0),
    keys,
    values,
    pcrs,
    cabundle,
    certificateLengths,
  };
}

/** The raw protected header and payload bytes and the signature (for Sig_structure checks). */
export function coseParts(doc: Uint8Array): { protectedHeader: Uint8Array; payload: Uint8Array; signature: Uint8Array } {
  let at = readHead(doc, 0).contentStart;
  const protectedHeader = slice(doc, at);
  at = skipItem(doc, skipItem(doc, at));
  const payload = slice(doc, at);
  at = skipItem(doc, at);
  return { protectedHeader, payload, signature: slice(doc, at) };
}
