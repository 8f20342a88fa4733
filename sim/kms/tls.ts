/**
 * The simulator's own TLS: a private CA kept in the state directory (so clients trust one stable
 * file across restarts) and a server certificate for localhost, 127.0.0.1 and ::1 (plus the bind
 * host), re-issued when it nears expiry or lacks a name.
 *
 *   DIR/kms/tls/ca.pem          CA certificate: hand it to clients (kms.json "caFile")
 *   DIR/kms/tls/ca-key.pem      CA private key (0600)
 *   DIR/kms/tls/server.pem      server certificate
 *   DIR/kms/tls/server-key.pem  server private key (0600)
 */
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from './atomic-file.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_VALIDITY_DAYS = 3650;
const SERVER_VALIDITY_DAYS = 397;
/** Re-issue anything that expires within this margin. */
const RENEW_MARGIN_DAYS = 30;

export interface TlsMaterial {
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Names every server certificate carries, plus the bind host when it is a concrete name. */
export function serverNames(host: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  if (host !== '' && host !== '0.0.0.0' && host !== '::' && !names.includes(host)) names.push(host);
  return names;
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function pemOfKey(pkcs8: ArrayBuffer): string {
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (der === undefined) throw new Error('empty PEM');
  return webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
}

function validFor(certPem: string, now: number): boolean {
  const cert = new NodeX509(certPem);
  return Date.parse(cert.validTo) - RENEW_MARGIN_DAYS * DAY_MS > now && Date.parse(cert.validFrom) <= now;
}

function hasNames(certPem: string, names: readonly string[]): boolean {
  const cert = new NodeX509(certPem);
  return names.every((n) => (isIP(n) === 0 ? cert.checkHost(n, { subject: 'never' }) === n : cert.checkIP(n) !== undefined));
}

function serial(): string {
  // Positive 16-byte serial (RFC 5280 §4.1.2.2: ≤ 20 octets, positive).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString('hex');
}

async function makeCa(now: number): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=enclavekit KMS simulator CA (NOT AWS)',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = (await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer;
  return { certPem: cert.toString('pem'), keyPem: pemOfKey(pkcs8) };
}

async function makeServerCert(caPem: string, caKeyPem: string, names: readonly string[], now: number): Promise<{ certPem: string; keyPem: string }> {
  const ca = new x509.X509Certificate(caPem);
  const caKey = await importKey(caKeyPem);
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + SERVER_VALIDITY_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) === 0 ? 'dns' : 'ip', value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const pkcs8 = (await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) as ArrayBuffer;
  return { certPem: cert.toString('pem'), keyPem: pemOfKey(pkcs8) };
}

/** Loads the CA and server certificate from DIR/kms/tls, creating or renewing what is needed. */
export async function ensureTlsMaterial(kmsDir: string, host: string, now: number): Promise<TlsMaterial> {
  const dir = join(kmsDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
  };
  let caPem = await readIfExists(paths.ca);
  let caKeyPem = await readIfExists(paths.caKey);
  let renewedCa = false;
  if (caPem === null || caKeyPem === null || !validFor(caPem, now)) {
    const ca = await makeCa(now);
    caPem = ca.certPem;
    caKeyPem = ca.keyPem;
    // Key first: a crash between the two writes leaves a CA cert without its key, which is
    // detected (and replaced) on the next start rather than a key nobody can use.
    await writeFileAtomic(paths.caKey, caKeyPem, 0o600);
    await writeFileAtomic(paths.ca, caPem, 0o644);
    renewedCa = true;
  }
  const names = serverNames(host);
  let certPem = await readIfExists(paths.cert);
  let keyPem = await readIfExists(paths.key);
  const issuedByCa = certPem !== null && new NodeX509(certPem).checkIssued(new NodeX509(caPem)) && new NodeX509(certPem).verify(new NodeX509(caPem).publicKey);
  if (renewedCa || certPem === null || keyPem === null || !issuedByCa || !validFor(certPem, now) || !hasNames(certPem, names)) {
    const leaf = await makeServerCert(caPem, caKeyPem, names, now);
    certPem = leaf.certPem;
    keyPem = leaf.keyPem;
    await writeFileAtomic(paths.key, keyPem, 0o600);
    await writeFileAtomic(paths.cert, certPem, 0o644);
  }
  return { caFile: paths.ca, caPem, certPem, keyPem };
}
