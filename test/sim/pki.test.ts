import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../shared/cbor.js';
import { LIFETIME_MS, SimPki } from '../../sim/pki/index.js';
import { intermediatePath, rootKeyPath } from '../../sim/pki/store.js';
import { x509 } from '../../sim/pki/x509.js';
import { credentialsPath, initSimState, loadCredentials, loadSimPki, simRootPemPath } from '../../sim/state.js';
import { realDoc } from './vectors.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const MODULE_ID = 'i-0827e799ec9232d44-enc019b55a68bd2ed4b';
const CRL_DISTRIBUTION_POINTS = '2.5.29.31';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ek-sim-pki-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** [root, regional, zonal, instance, leaf] of a real document (docs/formats.md section 1.3). */
function realChain(file: string): x509.X509Certificate[] {
  const cose = decodeCbor(realDoc(file)) as unknown[];
  const payload = decodeCbor(cose[2] as Uint8Array) as Map<string, unknown>;
  const bundle = payload.get('cabundle') as Uint8Array[];
  return [...bundle, payload.get('certificate') as Uint8Array].map((der) => new x509.X509Certificate(der));
}

async function simChain(now: number): Promise<x509.X509Certificate[]> {
  const pki = await SimPki.createInMemory(now);
  const { leaf, cabundle } = await pki.issueLeaf(MODULE_ID, now);
  return [...cabundle, leaf.der].map((der) => new x509.X509Certificate(der));
}

const attributeOrder = (name: x509.Name): string[] => name.toJSON().map((attribute) => Object.keys(attribute).join('+'));
const extensionShape = (cert: x509.X509Certificate): string[] =>
  cert.extensions.filter((e) => e.type !== CRL_DISTRIBUTION_POINTS).map((e) => `${e.type}${e.critical ? '!' : ''}`);

describe('simulated Nitro PKI', () => {
  it('has the shape of AWS chain: subject attribute order, extensions, pathLen, key usages, P-384, ecdsa-with-SHA384', async () => {
    const real = realChain('real_doc_16.cbor');
    const sim = await simChain(T0);
    expect(sim).toHaveLength(5);
    for (let level = 0; level < 5; level += 1) {
      const [r, s] = [real[level] as x509.X509Certificate, sim[level] as x509.X509Certificate];
      expect(attributeOrder(s.subjectName), `level ${level}`).toEqual(attributeOrder(r.subjectName));
      expect(extensionShape(s), `level ${level}`).toEqual(extensionShape(r));
      expect(s.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
      expect(s.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-384' });
      const bc = s.getExtension(x509.BasicConstraintsExtension);
      const realBc = r.getExtension(x509.BasicConstraintsExtension);
      expect([bc?.ca, bc?.pathLength], `level ${level}`).toEqual([realBc?.ca, realBc?.pathLength]);
      expect(s.getExtension(x509.KeyUsagesExtension)?.usages, `level ${level}`).toBe(r.getExtension(x509.KeyUsagesExtension)?.usages);
      expect(s.rawData.byteLength).toBeLessThanOrEqual(1024);
      if (level > 0) expect(s.issuer).toBe((sim[level - 1] as x509.X509Certificate).subject);
    }
    expect((sim[4] as x509.X509Certificate).subject).toContain(`CN=${MODULE_ID}.us-east-1.aws`);
    expect((sim[3] as x509.X509Certificate).subject).toContain('CN=i-0827e799ec9232d44.us-east-1.aws.nitro-enclaves');
    expect((sim[2] as x509.X509Certificate).subject).toMatch(/^CN=[0-9a-f]{16}\.zonal\.us-east-1\.aws\.nitro-enclaves,/);
    // The root is not AWS's: a verifier must be given it explicitly.
    expect(Buffer.from((sim[0] as x509.X509Certificate).rawData)).not.toEqual(Buffer.from((real[0] as x509.X509Certificate).rawData));
  });

  it('issues a leaf valid 3:00:03 with an AWS-style serial, inside the instance CA window', async () => {
    const now = T0 + 1234;
    const pki = await SimPki.createInMemory(now);
    const { leaf, cabundle } = await pki.issueLeaf(MODULE_ID, now);
    expect(leaf.notAfter - leaf.notBefore).toBe(LIFETIME_MS.leaf + 3000);
    expect(leaf.notBefore).toBeLessThanOrEqual(now);
    const cert = new x509.X509Certificate(leaf.der);
    expect(cert.notAfter.getTime()).toBe(leaf.notAfter);
    expect(cert.serialNumber.toLowerCase()).toBe(`019b55a68bd2ed4b00000000${Math.floor(now / 1000).toString(16)}`);
    const instance = new x509.X509Certificate(cabundle[3] as Uint8Array);
    expect(instance.notBefore.getTime()).toBeLessThanOrEqual(leaf.notBefore);
    expect(instance.notAfter.getTime()).toBeGreaterThanOrEqual(leaf.notAfter);
  });

  it('the chain verifies with OpenSSL at the issue time (independent check)', async () => {
    const dir = tempDir();
    const sim = await simChain(T0);
    const pem = (cert: x509.X509Certificate): string => cert.toString('pem') + '\n';
    writeFileSync(join(dir, 'root.pem'), pem(sim[0] as x509.X509Certificate));
    writeFileSync(join(dir, 'untrusted.pem'), sim.slice(1, 4).map(pem).join(''));
    writeFileSync(join(dir, 'leaf.pem'), pem(sim[4] as x509.X509Certificate));
    const out = execFileSync('openssl', [
      'verify', '-attime', String(Math.floor(T0 / 1000) + 60), '-CAfile', join(dir, 'root.pem'),
      '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem'),
    ]).toString();
    expect(out).toContain('leaf.pem: OK');
  });

  it('re-issues intermediates that would not cover a new leaf, keeps the root, and persists them', async () => {
    const dir = tempDir();
    await initSimState(dir, { now: T0 });
    const rootPem = readFileSync(simRootPemPath(dir), 'utf8');
    const regionalFile = readFileSync(intermediatePath(dir, 'regional'), 'utf8');
    const first = await (await loadSimPki(dir, T0 + 1000)).issueLeaf(MODULE_ID, T0 + 1000);
    // Within the regional CA's ~20 days: same regional CA.
    const sameWeek = await (await loadSimPki(dir, T0 + 2 * 86_400_000)).issueLeaf(MODULE_ID, T0 + 2 * 86_400_000);
    expect(Buffer.from(sameWeek.cabundle[1] as Uint8Array)).toEqual(Buffer.from(first.cabundle[1] as Uint8Array));
    // 25 days later the regional CA has expired: new regional and zonal, same root.
    const later = T0 + 25 * 86_400_000;
    const pki = await loadSimPki(dir, later);
    const issued = await pki.issueLeaf(MODULE_ID, later);
    expect(Buffer.from(issued.cabundle[0] as Uint8Array)).toEqual(Buffer.from(first.cabundle[0] as Uint8Array));
    expect(Buffer.from(issued.cabundle[1] as Uint8Array)).not.toEqual(Buffer.from(first.cabundle[1] as Uint8Array));
    for (const der of issued.cabundle) {
      const cert = new x509.X509Certificate(der);
      expect(cert.notBefore.getTime()).toBeLessThanOrEqual(later);
      expect(cert.notAfter.getTime()).toBeGreaterThanOrEqual(issued.leaf.notAfter);
    }
    expect(readFileSync(simRootPemPath(dir), 'utf8')).toBe(rootPem);
    expect(readFileSync(intermediatePath(dir, 'regional'), 'utf8')).not.toBe(regionalFile);
    expect(statSync(intermediatePath(dir, 'regional')).mode & 0o777).toBe(0o600);
  });

  it('refuses a clock outside the root validity with ERR_SIM_STATE', async () => {
    const pki = await SimPki.createInMemory(T0);
    await expect(pki.issueLeaf(MODULE_ID, T0 - 86_400_000)).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
    expect(() => pki.issueLeaf('not-a-module-id', T0)).toThrow(RangeError);
  });

  it('issues leaves for concurrent callers without mixing chains', async () => {
    const pki = await SimPki.createInMemory(T0);
    const results = await Promise.all(Array.from({ length: 4 }, () => pki.issueLeaf(MODULE_ID, T0)));
    const instances = new Set(results.map((r) => Buffer.from(r.cabundle[3] as Uint8Array).toString('hex')));
    expect(instances.size).toBe(1);
  });
});

describe('simulator state directory', () => {
  it('creates the root, keys 0600, sim.json and credentials for admin/enclave/client', async () => {
    const dir = join(tempDir(), 'state');
    const result = await initSimState(dir, { now: T0 });
    expect(result).toEqual({ createdRoot: true, account: '111122223333', rootPemPath: simRootPemPath(dir) });
    expect(statSync(rootKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(intermediatePath(dir, 'zonal')).mode & 0o777).toBe(0o600);
    expect(statSync(credentialsPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(simRootPemPath(dir), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    const principals = await loadCredentials(dir);
    expect(principals.map((p) => p.arn)).toEqual([
      'arn:aws:iam::111122223333:role/admin',
      'arn:aws:iam::111122223333:role/enclave',
      'arn:aws:iam::111122223333:role/client',
    ]);
    for (const p of principals) {
      expect(p.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
      expect(p.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    }
    expect(new Set(principals.map((p) => p.accessKeyId)).size).toBe(3);
  });

  it('is idempotent: keeps the root and the credentials', async () => {
    const dir = tempDir();
    await initSimState(dir, { now: T0, account: '123456789012' });
    const root = readFileSync(simRootPemPath(dir));
    const credentials = readFileSync(credentialsPath(dir));
    const again = await initSimState(dir, { now: T0 + 60_000 });
    expect(again.createdRoot).toBe(false);
    expect(again.account).toBe('123456789012');
    expect(readFileSync(simRootPemPath(dir))).toEqual(root);
    expect(readFileSync(credentialsPath(dir))).toEqual(credentials);
  });

  it('refuses another account for an existing directory, and malformed accounts', async () => {
    const dir = tempDir();
    await initSimState(dir, { now: T0 });
    await expect(initSimState(dir, { now: T0, account: '999999999999' })).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
    await expect(initSimState(tempDir(), { account: '12ab' })).rejects.toThrow(RangeError);
  });

  it('reports missing or inconsistent state as ERR_SIM_STATE', async () => {
    const empty = tempDir();
    await expect(loadCredentials(empty)).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
    await expect(SimPki.load(empty, T0)).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
    const dir = tempDir();
    await initSimState(dir, { now: T0 });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(rootKeyPath(dir), other);
    await expect(SimPki.load(dir, T0)).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
    writeFileSync(credentialsPath(dir), '{"not": "a list"}');
    await expect(loadCredentials(dir)).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
  });

  it('repairs missing intermediates on init without touching the root', async () => {
    const dir = tempDir();
    await initSimState(dir, { now: T0 });
    const root = readFileSync(simRootPemPath(dir));
    rmSync(intermediatePath(dir, 'regional'));
    await initSimState(dir, { now: T0 });
    expect(statSync(intermediatePath(dir, 'regional')).isFile()).toBe(true);
    expect(readFileSync(simRootPemPath(dir))).toEqual(root);
  });
});
