/**
 * Shared fixtures for the attestation tests: the real vectors (test/vectors/attestation, see
 * its README for origins), byte-level builders for COSE_Sign1 and payloads, and a synthetic
 * Nitro-shaped PKI (P-384, the same extensions as AWS's chain) for cases no real document has.
 */
import 'reflect-metadata';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sign, webcrypto, type KeyObject, KeyObject as NodeKeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { encodeCbor } from '../../shared/cbor.js';
import { parseAttestation, sigStructure, type ParsedAttestation } from '../../shared/attestation/index.js';
import { AttestationError } from '../../shared/errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VECTOR_DIR = fileURLToPath(new URL('../vectors/attestation/', import.meta.url));

export interface ExpectedVector {
  file: string;
  module_id: string;
  timestamp_ms: number;
  leaf_not_before: string;
  leaf_not_after: string;
  debug_mode: boolean;
  nonzero_pcrs: Record<string, string>;
  public_key: string;
  payload_map: string;
  cabundle_len: number;
}

export const EXPECTED: readonly ExpectedVector[] = JSON.parse(readFileSync(`${VECTOR_DIR}expected.json`, 'utf8')) as ExpectedVector[];
export const ROOT_PEM = readFileSync(`${VECTOR_DIR}aws_nitro_root_g1.pem`, 'utf8');

export function loadDoc(file: string): Uint8Array {
  return new Uint8Array(readFileSync(`${VECTOR_DIR}${file}`));
}

export function vectorFiles(): string[] {
  return readdirSync(VECTOR_DIR).filter((name) => name.endsWith('.cbor')).sort();
}

export const DAY_MS = 86_400_000;

/** Offset of a view inside the document it was parsed from. */
export function offsetIn(doc: Uint8Array, view: Uint8Array): number {
  if (view.buffer !== doc.buffer) throw new Error('view does not alias the document');
  return view.byteOffset - doc.byteOffset;
}

export function flipByte(doc: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = new Uint8Array(doc);
  copy[offset] = (copy[offset] as number) ^ mask;
  return copy;
}

/** The AttestationError a call throws; anything else (another exception, a pass) fails the test. */
export function catchError(run: () => unknown): AttestationError {
  try {
    run();
  } catch (error) {
    if (error instanceof AttestationError) return error;
    throw error;
  }
  throw new Error('expected an AttestationError, the call succeeded');
}

export function codeOf(run: () => unknown): string {
  return catchError(run).code;
}

// ---------------------------------------------------------------------------------------------
// Byte builders

function head(major: number, length: number): Uint8Array {
  if (length < 24) return Uint8Array.of((major << 5) | length);
  if (length < 0x100) return Uint8Array.of((major << 5) | 24, length);
  if (length < 0x10000) return Uint8Array.of((major << 5) | 25, length >> 8, length & 0xff);
  throw new Error('too long for this helper');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function bstr(bytes: Uint8Array): Uint8Array {
  return concat(head(2, bytes.length), bytes);
}

export interface CoseParts {
  protectedHeader: Uint8Array;
  unprotected?: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  tagged?: boolean;
}

export function buildCose(parts: CoseParts): Uint8Array {
  return concat(
    parts.tagged === true ? Uint8Array.of(0xd2) : new Uint8Array(0),
    Uint8Array.of(0x84),
    bstr(parts.protectedHeader),
    parts.unprotected ?? Uint8Array.of(0xa0),
    bstr(parts.payload),
    bstr(parts.signature),
  );
}

/** A payload entry list in document order, values as cbor-x encodes them (bigint → uint64). */
export type PayloadEntries = [string, unknown][];

export function payloadEntries(parsed: ParsedAttestation): PayloadEntries {
  return [
    ['module_id', parsed.moduleId],
    ['digest', parsed.digest],
    ['timestamp', BigInt(parsed.timestamp)],
    ['pcrs', new Map(parsed.pcrs)],
    ['certificate', parsed.certificate],
    ['cabundle', [...parsed.cabundle]],
    ['public_key', parsed.publicKey],
    ['user_data', parsed.userData],
    ['nonce', parsed.nonce],
  ];
}

/** Encodes a payload map pair by pair (definite 0xa0+n or indefinite 0xbf … 0xff). */
export function encodePayload(entries: PayloadEntries, indefinite = false): Uint8Array {
  const body = entries.flatMap(([key, value]) => [encodeCbor(key), encodeCbor(value)]);
  return indefinite ? concat(Uint8Array.of(0xbf), ...body, Uint8Array.of(0xff)) : concat(head(5, entries.length), ...body);
}

export function setEntry(entries: PayloadEntries, key: string, value: unknown): PayloadEntries {
  return entries.map(([k, v]) => [k, k === key ? value : v]);
}

/** Rebuilds a real document with a different payload, keeping its (now wrong) signature. */
export function withPayload(doc: Uint8Array, payload: Uint8Array): Uint8Array {
  const parsed = parseAttestation(doc);
  return buildCose({ protectedHeader: parsed.cose.protectedHeader, payload, signature: parsed.cose.signature });
}

// ---------------------------------------------------------------------------------------------
// Synthetic Nitro-shaped PKI

// @peculiar/x509 types its provider with the DOM `Crypto`; node's webcrypto implements it.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-384' } as const;

/** Fixed clock of the synthetic chain: documents are stamped at T0. */
export const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

export interface CertSpec {
  name: string;
  ca: boolean;
  pathLength?: number | undefined;
  /** Omit basicConstraints entirely. */
  noBasicConstraints?: boolean;
  usages?: x509.KeyUsageFlags | undefined;
  notBefore: number;
  notAfter: number;
  extraExtensions?: x509.Extension[];
  /** Named curve of this certificate's key. */
  curve?: 'P-384' | 'P-256';
  /** SubjectPublicKeyInfo DER written in place of the generated key's (which still signs). */
  subjectPublicKeyInfo?: Uint8Array;
}

export interface SyntheticCert {
  der: Uint8Array;
  pem: string;
  keys: webcrypto.CryptoKeyPair;
  privateKey: KeyObject;
  spec: CertSpec;
}

const ROOT_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature;

/** The shape of AWS's chain (docs/formats.md 1.3): root, regional (2), zonal (1), instance (0), leaf. */
export function nitroSpecs(): CertSpec[] {
  return [
    { name: 'CN=sim.nitro-enclaves, OU=AWS, O=Amazon, C=US', ca: true, usages: ROOT_USAGES, notBefore: T0 - 3650 * DAY_MS, notAfter: T0 + 3650 * DAY_MS },
    { name: 'CN=0001.us-east-1.sim.nitro-enclaves, OU=AWS, O=Amazon, C=US', ca: true, pathLength: 2, usages: ROOT_USAGES, notBefore: T0 - 10 * DAY_MS, notAfter: T0 + 10 * DAY_MS },
    { name: 'CN=0002.zonal.us-east-1.sim.nitro-enclaves, OU=AWS, O=Amazon, C=US', ca: true, pathLength: 1, usages: ROOT_USAGES, notBefore: T0 - 3 * DAY_MS, notAfter: T0 + 3 * DAY_MS },
    { name: 'CN=i-0000000000000001.us-east-1.sim.nitro-enclaves, OU=AWS, O=Amazon, C=US', ca: true, pathLength: 0, usages: x509.KeyUsageFlags.keyCertSign, notBefore: T0 - 12 * HOUR, notAfter: T0 + 12 * HOUR },
    { name: 'CN=i-0000000000000001-enc0000000000000001.us-east-1.aws, OU=AWS, O=Amazon, C=US', ca: false, usages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, notBefore: T0 - HOUR, notAfter: T0 + 2 * HOUR },
  ];
}

/** Issues specs[0] self-signed (or signed by `parent`), then each next one signed by the previous. */
export async function buildChain(specs: CertSpec[], parent?: SyntheticCert): Promise<SyntheticCert[]> {
  const out: SyntheticCert[] = [];
  for (const [index, spec] of specs.entries()) {
    const keys = (await webcrypto.subtle.generateKey({ ...EC, namedCurve: spec.curve ?? 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const extensions: x509.Extension[] = [];
    if (spec.noBasicConstraints !== true) extensions.push(new x509.BasicConstraintsExtension(spec.ca, spec.pathLength, true));
    if (spec.usages !== undefined) extensions.push(new x509.KeyUsagesExtension(spec.usages, spec.ca));
    extensions.push(...(spec.extraExtensions ?? []));
    const issuer = index === 0 ? parent : out[index - 1];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (index + 1).toString(16).padStart(2, '0'),
      subject: spec.name,
      issuer: issuer?.spec.name ?? spec.name,
      notBefore: new Date(spec.notBefore),
      notAfter: new Date(spec.notAfter),
      publicKey: spec.subjectPublicKeyInfo ?? keys.publicKey,
      signingKey: issuer?.keys.privateKey ?? keys.privateKey,
      signingAlgorithm: SIGNING,
      extensions,
    });
    out.push({ der: new Uint8Array(cert.rawData), pem: cert.toString('pem'), keys, privateKey: NodeKeyObject.from(keys.privateKey), spec });
  }
  return out;
}

export interface SyntheticDocOptions {
  moduleId?: string;
  timestamp?: number;
  pcrs?: Map<number, Uint8Array>;
  publicKey?: Uint8Array | null;
  userData?: Uint8Array | null;
  nonce?: Uint8Array | null;
  indefinite?: boolean;
  tagged?: boolean;
  /** Override the cabundle (default: the chain's CAs, root first). */
  cabundle?: Uint8Array[];
  /** Override the leaf DER put in the payload (default: the chain's last certificate). */
  certificate?: Uint8Array;
  /** Replace the entries just before encoding. */
  edit?: (entries: PayloadEntries) => PayloadEntries;
}

export function defaultPcrs(fill = 0x11): Map<number, Uint8Array> {
  return new Map(Array.from({ length: 16 }, (_, i) => [i, new Uint8Array(48).fill(i < 5 ? fill + i : 0)]));
}

/** A correctly signed document from a synthetic chain (leaf = chain[chain.length - 1]). */
export function signedDoc(chain: SyntheticCert[], options: SyntheticDocOptions = {}): Uint8Array {
  const leaf = chain[chain.length - 1] as SyntheticCert;
  let entries: PayloadEntries = [
    ['module_id', options.moduleId ?? 'i-0000000000000001-enc0000000000000001'],
    ['digest', 'SHA384'],
    ['timestamp', BigInt(options.timestamp ?? T0)],
    ['pcrs', options.pcrs ?? defaultPcrs()],
    ['certificate', options.certificate ?? leaf.der],
    ['cabundle', options.cabundle ?? chain.slice(0, -1).map((c) => c.der)],
    ['public_key', options.publicKey === undefined ? null : options.publicKey],
    ['user_data', options.userData === undefined ? null : options.userData],
    ['nonce', options.nonce === undefined ? null : options.nonce],
  ];
  if (options.edit !== undefined) entries = options.edit(entries);
  const payload = encodePayload(entries, options.indefinite === true);
  const protectedHeader = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);
  const toSign = sigStructure({ tagged: false, protectedHeader, payload, signature: new Uint8Array(96) });
  const signature = new Uint8Array(sign('sha384', toSign, { key: leaf.privateKey, dsaEncoding: 'ieee-p1363' }));
  return buildCose({ protectedHeader, payload, signature, tagged: options.tagged === true });
}

let standardChain: Promise<SyntheticCert[]> | undefined;
/** One synthetic Nitro-shaped chain shared by the tests of a file (key generation is slowish). */
export function standardSyntheticChain(): Promise<SyntheticCert[]> {
  standardChain ??= buildChain(nitroSpecs());
  return standardChain;
}
