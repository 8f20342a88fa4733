/**
 * Issuing the simulated Nitro certificates (shapes: ./profile.ts). All keys are P-384 and every
 * signature is ecdsa-with-SHA384, as in AWS's chain (docs/formats.md section 1.3).
 *
 * CA private keys exist in two forms only: PKCS#8 PEM handed back once for the state directory,
 * and a non-extractable WebCrypto key for signing. Leaf keys are node KeyObjects, because
 * documents are signed synchronously with node:crypto (sim/nsm/document.ts).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject, type webcrypto as WebCrypto } from 'node:crypto';
import { webcrypto, x509 } from './x509.js';
import {
  CA_BACKDATE_MS,
  LEAF_BACKDATE_MS,
  LIFETIME_MS,
  instanceName,
  leafName,
  regionalName,
  rootName,
  zonalName,
  type SimName,
} from './profile.js';

export type CaLevel = 'root' | 'regional' | 'zonal' | 'instance';

type CryptoKey = WebCrypto.CryptoKey;

const EC_IMPORT = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-384' } as const;

/** The pathLen of each intermediate (AWS: regional 2, zonal 1, instance 0; the root has none). */
const PATH_LENGTH: Record<Exclude<CaLevel, 'root'>, number> = { regional: 2, zonal: 1, instance: 0 };

export interface SimCa {
  readonly level: CaLevel;
  readonly der: Uint8Array;
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Subject key identifier, hex: the children's authority key identifier. */
  readonly keyId: string;
}

export interface IssuedCa {
  readonly ca: SimCa;
  /** PKCS#8 PEM, for the state directory only. */
  readonly privateKeyPem: string;
}

export interface SimLeaf {
  readonly der: Uint8Array;
  readonly privateKey: KeyObject;
  readonly notBefore: number;
  readonly notAfter: number;
}

function ecKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-384' });
}

function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

async function importSigningKey(pkcs8Der: Uint8Array): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', pkcs8Der, EC_IMPORT, false, ['sign']);
}

async function toSimCa(level: CaLevel, cert: x509.X509Certificate, pkcs8Der: Uint8Array): Promise<SimCa> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) throw new RangeError(`the ${level} certificate has no subject key identifier`);
  return {
    level,
    der: new Uint8Array(cert.rawData),
    cert,
    signingKey: await importSigningKey(pkcs8Der),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    keyId: ski.keyId,
  };
}

async function newCa(
  level: CaLevel,
  name: SimName,
  issuer: SimCa | undefined,
  now: number,
): Promise<IssuedCa> {
  const { publicKey, privateKey } = ecKeyPair();
  const spki = spkiOf(publicKey);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const notBefore = floorSecond(now - CA_BACKDATE_MS);
    const caUsages = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
    const ski = await x509.SubjectKeyIdentifierExtension.create(spki);
    let extensions: x509.Extension[];
    if (issuer === undefined) {
      extensions = [new x509.BasicConstraintsExtension(true, undefined, true), ski, new x509.KeyUsagesExtension(caUsages, true)];
    } else {
      const bc = new x509.BasicConstraintsExtension(true, PATH_LENGTH[level as Exclude<CaLevel, 'root'>], true);
      const aki = new x509.AuthorityKeyIdentifierExtension(issuer.keyId);
      extensions =
        level === 'instance'
          ? [bc, new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true), ski, aki]
          : [bc, aki, ski, new x509.KeyUsagesExtension(caUsages, true)];
    }
    const subject = new x509.Name(name);
    const signingKey = issuer?.signingKey ?? (await importSigningKey(pkcs8));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: issuer === undefined ? subject : issuer.cert.subjectName,
      notBefore: new Date(notBefore),
      notAfter: new Date(notBefore + LIFETIME_MS[level]),
      signingAlgorithm: SIGNING,
      publicKey: spki,
      signingKey,
      extensions,
    });
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return { ca: await toSimCa(level, cert, pkcs8), privateKeyPem };
  } finally {
    pkcs8.fill(0);
  }
}

/** A new self-signed root (30 years, like AWS Nitro Root-G1). */
export function createRootCa(now: number): Promise<IssuedCa> {
  return newCa('root', rootName(), undefined, now);
}

/** A new regional, zonal or instance CA under `issuer`. `label` is the 16-hex id or the instance id. */
export function issueIntermediateCa(
  level: Exclude<CaLevel, 'root'>,
  issuer: SimCa,
  label: string,
  region: string,
  now: number,
): Promise<IssuedCa> {
  const name =
    level === 'regional' ? regionalName(label, region) : level === 'zonal' ? zonalName(label, region) : instanceName(label, region);
  return newCa(level, name, issuer, now);
}

/** Rebuilds a CA from its stored certificate and PKCS#8 key (both PEM). */
export async function loadCa(level: CaLevel, certPem: string, keyPem: string): Promise<SimCa> {
  const cert = new x509.X509Certificate(certPem);
  const pkcs8 = new Uint8Array(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }));
  try {
    return await toSimCa(level, cert, pkcs8);
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * AWS leaf serials are `<enclave id, 8 bytes> 00000000 <issue time, uint32 seconds>` (real_doc_16:
 * 019B55A68BD2ED4B 00000000 694D38F9 for module …-enc019b55a68bd2ed4b issued at 1766668537 s).
 */
function leafSerial(moduleId: string, issuedAt: number): string {
  const enc = /-enc([0-9a-f]{16})$/.exec(moduleId)?.[1];
  if (enc === undefined) return randomSerial();
  const seconds = (Math.floor(issuedAt / 1000) >>> 0).toString(16).padStart(8, '0');
  // A leading byte ≥ 0x80 would make the INTEGER negative; AWS's ids start with 0x01 (a ms clock).
  return `${enc}00000000${seconds}`.replace(/^([89a-f])/, '00$1');
}

/** A 3-hour leaf for one enclave boot (module id), signed by the instance CA. */
export async function issueLeafCertificate(
  issuer: SimCa,
  moduleId: string,
  region: string,
  now: number,
): Promise<SimLeaf> {
  const { publicKey, privateKey } = ecKeyPair();
  const issuedAt = floorSecond(now);
  const notBefore = issuedAt - LEAF_BACKDATE_MS;
  const notAfter = issuedAt + LIFETIME_MS.leaf;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: leafSerial(moduleId, issuedAt),
    subject: new x509.Name(leafName(moduleId, region)),
    issuer: issuer.cert.subjectName,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    signingAlgorithm: SIGNING,
    publicKey: spkiOf(publicKey),
    signingKey: issuer.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, false),
    ],
  });
  return { der: new Uint8Array(cert.rawData), privateKey, notBefore, notAfter };
}
