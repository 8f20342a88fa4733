/**
 * The X.509 v3 certificates of the Nitro PKI (RFC 5280 §4.1), read into what path validation needs.
 *
 * The Nitro profile (docs/formats.md 1.3, VERIFIED on every real chain): ecdsa-with-SHA384 signatures,
 * P-384 keys, basicConstraints and keyUsage on every CA, keyUsage digitalSignature on the leaf.
 * Anything else is refused here rather than half-supported: another algorithm or curve, a
 * v1/v2 certificate, an extension present twice (RFC 5280 §4.2).
 */
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { sameBytes } from './bytes.js';
import {
  DerError,
  DerReader,
  oidToString,
  readBoolean,
  readSingle,
  readSmallUint,
  readTime,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
  TAG_UTF8_STRING,
  TAG_PRINTABLE_STRING,
  TAG_IA5_STRING,
  type Tlv,
} from './der.js';

/** AlgorithmIdentifier ecdsa-with-SHA384 (RFC 5758 §3.2: parameters absent), exact DER. */
const ECDSA_WITH_SHA384 = Uint8Array.from([0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);

/**
 * SubjectPublicKeyInfo header for id-ecPublicKey on secp384r1 (RFC 5480 §2), followed by the
 * 97-byte uncompressed point 04‖X‖Y: the only key form the Nitro PKI issues.
 */
const P384_SPKI_PREFIX = Uint8Array.from(Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'));
const P384_POINT_BYTES = 97;

/** keyUsage bits (RFC 5280 §4.2.1.3), numbered from the first bit of the BIT STRING. */
export const KeyUsageBit = { digitalSignature: 0, nonRepudiation: 1, keyCertSign: 5, cRLSign: 6 } as const;

/** Extensions we act on or may safely ignore when critical. Others, if critical, fail the chain. */
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const UNDERSTOOD_EXTENSIONS = new Set([
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.31', // cRLDistributionPoints: the Nitro PKI does not use CRLs (attestation_process.md §3.2.3)
]);

const NAME_ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

export interface BasicConstraints {
  ca: boolean;
  pathLen: number | undefined;
}

export class ParsedCertificate {
  /** Lower-case hex SHA-256 of the DER: the cache key and the fingerprint roots are pinned by. */
  readonly sha256: string;
  readonly tbs: Uint8Array;
  /** DER Ecdsa-Sig-Value from the signatureValue BIT STRING. */
  readonly signature: Uint8Array;
  /** DER Names, compared byte for byte when chaining (RFC 5280 §7.1 binary comparison). */
  readonly issuerName: Uint8Array;
  readonly subjectName: Uint8Array;
  /** e.g. `C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves`. */
  readonly subject: string;
  /** ms since the epoch; the window is inclusive (RFC 5280 §4.1.2.5). */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly basicConstraints: BasicConstraints | undefined;
  /** keyUsage as a bit mask (bit `1 << KeyUsageBit.x`), undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly unknownCriticalExtensions: readonly string[];
  private key: KeyObject | undefined;

  /** `der` is kept as given: pass a copy when the source buffer should not be retained. */
  constructor(readonly der: Uint8Array, sha256?: string) {
    this.sha256 = sha256 ?? hash('sha256', der, 'hex');
    const certificate = new DerReader(readSingle(der, TAG_SEQUENCE, 'certificate').contents);
    const tbsTlv = certificate.read(TAG_SEQUENCE);
    const outerAlgorithm = certificate.read(TAG_SEQUENCE);
    const signatureValue = certificate.read(TAG_BIT_STRING);
    certificate.end('certificate');
    if (!sameBytes(outerAlgorithm.whole, ECDSA_WITH_SHA384)) throw new DerError('signature algorithm is not ecdsa-with-SHA384');
    if (signatureValue.contents[0] !== 0) throw new DerError('signatureValue has unused bits');
    this.tbs = tbsTlv.whole;
    this.signature = signatureValue.contents.subarray(1);

    const tbs = new DerReader(tbsTlv.contents);
    const version = tbs.read(0xa0); // [0] EXPLICIT Version: v3 is required for extensions
    if (!sameBytes(version.contents, Uint8Array.of(TAG_INTEGER, 1, 2))) throw new DerError('not an X.509 v3 certificate');
    tbs.read(TAG_INTEGER); // serialNumber
    // RFC 5280 §4.1.2.3: must match the outer signatureAlgorithm.
    if (!sameBytes(tbs.read(TAG_SEQUENCE).whole, ECDSA_WITH_SHA384)) throw new DerError('tbsCertificate signature algorithm differs');
    this.issuerName = tbs.read(TAG_SEQUENCE).whole;
    const validity = new DerReader(tbs.read(TAG_SEQUENCE).contents);
    this.notBefore = readTime(validity.read());
    this.notAfter = readTime(validity.read());
    validity.end('validity');
    this.subjectName = tbs.read(TAG_SEQUENCE).whole;
    this.subject = formatName(this.subjectName);
    this.spki = tbs.read(TAG_SEQUENCE).whole;
    if (this.spki.length !== P384_SPKI_PREFIX.length + P384_POINT_BYTES || !sameBytes(this.spki.subarray(0, P384_SPKI_PREFIX.length), P384_SPKI_PREFIX) || this.spki[P384_SPKI_PREFIX.length] !== 0x04) {
      throw new DerError('public key is not an uncompressed P-384 point');
    }
    tbs.readOptional(0x81); // issuerUniqueID
    tbs.readOptional(0x82); // subjectUniqueID
    const extensions = tbs.readOptional(0xa3);
    tbs.end('tbsCertificate');

    let basicConstraints: BasicConstraints | undefined;
    let keyUsage: number | undefined;
    const unknownCritical: string[] = [];
    const seen = new Set<string>();
    if (extensions !== undefined) {
      const list = new DerReader(readSingle(extensions.contents, TAG_SEQUENCE, 'extensions').contents);
      while (!list.atEnd()) {
        const extension = new DerReader(list.read(TAG_SEQUENCE).contents);
        const oid = oidToString(extension.read(TAG_OID).contents);
        const criticalTlv = extension.readOptional(TAG_BOOLEAN);
        const critical = criticalTlv === undefined ? false : readBoolean(criticalTlv.contents);
        const value = extension.read(TAG_OCTET_STRING).contents;
        extension.end('extension');
        if (seen.has(oid)) throw new DerError(`extension ${oid} appears twice`);
        seen.add(oid);
        if (oid === OID_BASIC_CONSTRAINTS) basicConstraints = parseBasicConstraints(value);
        else if (oid === OID_KEY_USAGE) keyUsage = parseKeyUsage(value);
        else if (critical && !UNDERSTOOD_EXTENSIONS.has(oid)) unknownCritical.push(oid);
      }
    }
    this.basicConstraints = basicConstraints;
    this.keyUsage = keyUsage;
    this.unknownCriticalExtensions = unknownCritical;
  }

  get isCA(): boolean {
    return this.basicConstraints?.ca === true;
  }

  hasKeyUsage(bit: number): boolean {
    return this.keyUsage !== undefined && (this.keyUsage & (1 << bit)) !== 0;
  }

  /**
   * The subject key as a node KeyObject, imported once, when a signature first needs it.
   * Imported from PEM (RFC 7468 §13), not DER: the same SubjectPublicKeyInfo, point checked on
   * the curve either way, but measured (`npm run bench -- attest-steps`) at ~22 µs against
   * ~51 µs on Node 24 (OpenSSL 3.5), and at the same ~110 µs on Node 20 (OpenSSL 3.0).
   */
  publicKey(): KeyObject {
    this.key ??= createPublicKey(spkiPem(this.spki));
    return this.key;
  }
}

/** RFC 7468 §13 "PUBLIC KEY" text of a SubjectPublicKeyInfo, base64 lines of 64 characters (§2). */
function spkiPem(spki: Uint8Array): string {
  const base64 = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
  let body = '';
  for (let at = 0; at < base64.length; at += 64) body += `${base64.slice(at, at + 64)}\n`;
  return `-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----\n`;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
function parseBasicConstraints(value: Uint8Array): BasicConstraints {
  const reader = new DerReader(readSingle(value, TAG_SEQUENCE, 'basicConstraints').contents);
  const caTlv = reader.readOptional(TAG_BOOLEAN);
  const pathLenTlv = reader.readOptional(TAG_INTEGER);
  reader.end('basicConstraints');
  return {
    ca: caTlv === undefined ? false : readBoolean(caTlv.contents),
    pathLen: pathLenTlv === undefined ? undefined : readSmallUint(pathLenTlv.contents),
  };
}

/** KeyUsage ::= BIT STRING; returns bit i (counted from the first bit) as `1 << i`. */
function parseKeyUsage(value: Uint8Array): number {
  const bits = readSingle(value, TAG_BIT_STRING, 'keyUsage').contents;
  const unused = bits[0];
  if (unused === undefined || unused > 7 || bits.length > 3) throw new DerError('invalid keyUsage');
  let mask = 0;
  for (let i = 0; i < (bits.length - 1) * 8 - unused; i += 1) {
    if (((bits[1 + (i >> 3)] as number) >> (7 - (i & 7))) & 1) mask |= 1 << i;
  }
  return mask;
}

/** RFC 4514-like rendering in encoding order (as @peculiar/x509's Name#toString prints it). */
function formatName(name: Uint8Array): string {
  const parts: string[] = [];
  const rdns = new DerReader(readSingle(name, TAG_SEQUENCE, 'name').contents);
  while (!rdns.atEnd()) {
    const set = new DerReader(rdns.read(TAG_SET).contents);
    while (!set.atEnd()) {
      const attribute = new DerReader(set.read(TAG_SEQUENCE).contents);
      const oid = oidToString(attribute.read(TAG_OID).contents);
      const value = attribute.read();
      attribute.end('name attribute');
      parts.push(`${NAME_ATTRIBUTES[oid] ?? oid}=${attributeText(value)}`);
    }
  }
  return parts.join(', ');
}

function attributeText(value: Tlv): string {
  if (value.tag === TAG_UTF8_STRING || value.tag === TAG_PRINTABLE_STRING || value.tag === TAG_IA5_STRING) {
    return Buffer.from(value.contents.buffer, value.contents.byteOffset, value.contents.byteLength).toString('utf8');
  }
  return `#${Buffer.from(value.whole).toString('hex')}`;
}
