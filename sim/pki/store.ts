/**
 * Where the simulated PKI lives in the state directory:
 *
 *   DIR/root.pem              the simulated root certificate (public: what verifiers are given)
 *   DIR/pki/root.key.pem      its PKCS#8 private key (0600)
 *   DIR/pki/regional.pem      regional CA: private key + certificate in one file (0600)
 *   DIR/pki/zonal.pem         zonal CA: private key + certificate in one file (0600)
 *
 * An intermediate's key and certificate share one file so that an atomic replacement (when it
 * is re-issued) can never pair a new key with an old certificate. Instance CAs and leaves are
 * per boot and live in memory only, as on a Nitro host.
 */
import { join } from 'node:path';
import { ServiceError } from '../../shared/errors.js';
import { PUBLIC_FILE_MODE, SECRET_DIR_MODE, SECRET_FILE_MODE, ensureDir, readTextIfExists, writeFileAtomic } from './files.js';
import type { SimCa } from './issue.js';

export type StoredLevel = 'regional' | 'zonal';

export function rootCertPath(dir: string): string {
  return join(dir, 'root.pem');
}

export function pkiDir(dir: string): string {
  return join(dir, 'pki');
}

export function rootKeyPath(dir: string): string {
  return join(pkiDir(dir), 'root.key.pem');
}

export function intermediatePath(dir: string, level: StoredLevel): string {
  return join(pkiDir(dir), `${level}.pem`);
}

export function certificatePem(ca: SimCa): string {
  return ca.cert.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** Splits a key+certificate file; undefined parts when absent. */
export function splitPemFile(text: string): { keyPem?: string; certPem?: string } {
  const out: { keyPem?: string; certPem?: string } = {};
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] === 'PRIVATE KEY') out.keyPem = `${match[0]}\n`;
    if (match[1] === 'CERTIFICATE') out.certPem = `${match[0]}\n`;
  }
  return out;
}

export async function writeRoot(dir: string, ca: SimCa, privateKeyPem: string): Promise<void> {
  await ensureDir(pkiDir(dir), SECRET_DIR_MODE);
  // Key first: a root certificate without its key would be a state nobody can use.
  await writeFileAtomic(rootKeyPath(dir), privateKeyPem, SECRET_FILE_MODE);
  await writeFileAtomic(rootCertPath(dir), certificatePem(ca), PUBLIC_FILE_MODE);
}

export async function writeIntermediate(dir: string, level: StoredLevel, ca: SimCa, privateKeyPem: string): Promise<void> {
  await ensureDir(pkiDir(dir), SECRET_DIR_MODE);
  await writeFileAtomic(intermediatePath(dir, level), privateKeyPem + certificatePem(ca), SECRET_FILE_MODE);
}

export interface StoredRoot {
  certPem: string;
  keyPem: string;
}

/** The root's certificate and key, or undefined when neither exists; half a root is an error. */
export async function readRoot(dir: string): Promise<StoredRoot | undefined> {
  const [certPem, keyPem] = await Promise.all([readTextIfExists(rootCertPath(dir)), readTextIfExists(rootKeyPath(dir))]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    throw new ServiceError('ERR_SIM_STATE', `simulator state in ${dir} has only half of the root (certificate or key missing)`);
  }
  return { certPem, keyPem };
}

export async function readIntermediate(dir: string, level: StoredLevel): Promise<StoredRoot | undefined> {
  const text = await readTextIfExists(intermediatePath(dir, level));
  if (text === undefined) return undefined;
  const { keyPem, certPem } = splitPemFile(text);
  return keyPem === undefined || certPem === undefined ? undefined : { certPem, keyPem };
}
