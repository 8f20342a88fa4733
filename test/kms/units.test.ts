/**
 * The simulator's pure parts and its store, without HTTP: ciphertext blobs, encryption-context
 * encoding, the key store's crash leftovers and damage detection, scheduled deletion and rotation,
 * the TLS material, the quota bucket and fault-setting validation.
 */
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../shared/errors.js';
import { openBlob, readBlobHeader, sealBlob, BLOB_OVERHEAD_BYTES } from '../../sim/kms/ciphertext-blob.js';
import { encodeEncryptionContext } from '../../sim/kms/encryption-context.js';
import { DEFAULT_FAULTS, mergeFaultSettings, RequestQuota } from '../../sim/kms/faults.js';
import { KeyStore, type KeyRecord } from '../../sim/kms/key-store.js';
import { applyScheduledChanges } from '../../sim/kms/operations/rotation.js';
import { RequestShape } from '../../sim/kms/shapes.js';
import { ensureTlsMaterial } from '../../sim/kms/tls.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ek-kms-unit-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const DAY = 86_400_000;

function record(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: randomUUID(), account: '111122223333', region: 'us-east-1', description: '', createdAt: 1_700_000_000_000,
    state: 'Enabled', rotationEnabled: false, policy: '{}',
    versions: [{ materialId: 'ab'.repeat(32), material: randomBytes(32), createdAt: 1_700_000_000_000 }],
    ...overrides,
  };
}

describe('ciphertext blob', () => {
  const material = randomBytes(32);
  const at = { keyId: randomUUID(), keyVersion: 3 };

  it('round-trips and names its key and version', () => {
    const blob = sealBlob(material, at, { a: 'b' }, Buffer.from('hello'));
    expect(blob.length).toBe(5 + BLOB_OVERHEAD_BYTES);
    expect(readBlobHeader(blob)).toEqual(at);
    expect(openBlob(material, blob, { a: 'b' })!.toString()).toBe('hello');
  });

  it('fails to open after any single-bit change, or with another context or key', () => {
    const blob = sealBlob(material, at, { tenant: 't1' }, randomBytes(64));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 0, max: 7 }), (offset, bit) => {
        const copy = Buffer.from(blob);
        copy[offset] = copy[offset]! ^ (1 << bit);
        const header = readBlobHeader(copy);
        return header === null || openBlob(material, copy, { tenant: 't1' }) === null;
      }),
      { seed: 42, numRuns: 300 },
    );
    expect(openBlob(material, blob, { tenant: 't2' })).toBeNull();
    expect(openBlob(material, blob, {})).toBeNull();
    expect(openBlob(randomBytes(32), blob, { tenant: 't1' })).toBeNull();
    expect(readBlobHeader(blob.subarray(0, BLOB_OVERHEAD_BYTES - 1))).toBeNull();
  });
});

describe('encryption context encoding', () => {
  it('ignores member order and separates keys from values unambiguously', () => {
    expect(encodeEncryptionContext({ a: '1', b: '2' })).toEqual(encodeEncryptionContext({ b: '2', a: '1' }));
    expect(encodeEncryptionContext({ a: 'bc' })).not.toEqual(encodeEncryptionContext({ ab: 'c' }));
    expect(encodeEncryptionContext({})).toEqual(Buffer.from([0, 0]));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), fc.string()), (x, y) => {
        const same = JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
        return encodeEncryptionContext(x).equals(encodeEncryptionContext(y)) === same;
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('key store', () => {
  it('persists keys with mode 0600, removes temp files left by a killed write, and reloads', async () => {
    const dir = await tempDir();
    const store = await KeyStore.open(dir);
    const k = record();
    await store.mutate(() => store.putKey(k));
    await writeFile(join(dir, 'keys', `.${k.keyId}.json.deadbeef.tmp`), '{"partial');
    const reopened = await KeyStore.open(dir);
    expect(reopened.getKey(k.keyId)!.versions[0]!.material).toEqual(k.versions[0]!.material);
    expect(await readdir(join(dir, 'keys'))).toEqual([`${k.keyId}.json`]);
    expect((await stat(join(dir, 'keys', `${k.keyId}.json`))).mode & 0o777).toBe(0o600);
  });

  it('refuses to start on a damaged key file (ERR_SIM_STATE) instead of losing keys silently', async () => {
    const dir = await tempDir();
    const store = await KeyStore.open(dir);
    const k = record();
    await store.mutate(() => store.putKey(k));
    await writeFile(join(dir, 'keys', `${k.keyId}.json`), '{"format":1,"keyId":');
    const error = await KeyStore.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('ERR_SIM_STATE');
  });

  it('deletes keys whose waiting period ended (with their aliases) and applies due automatic rotations', async () => {
    const dir = await tempDir();
    const store = await KeyStore.open(dir);
    const now = 1_700_000_000_000;
    const doomed = record({ state: 'PendingDeletion', deletionDate: now + 7 * DAY, pendingWindowInDays: 7 });
    const rotating = record({ rotationEnabled: true, rotationPeriodInDays: 90, nextRotationDate: now + 90 * DAY });
    await store.mutate(async () => {
      await store.putKey(doomed);
      await store.putKey(rotating);
      await store.putAliases([{ aliasName: 'alias/doomed', account: doomed.account, region: 'us-east-1', targetKeyId: doomed.keyId, createdAt: now, updatedAt: now }]);
    });
    await applyScheduledChanges(store, now + 7 * DAY - 1);
    expect(store.getKey(doomed.keyId)).toBeDefined();
    await applyScheduledChanges(store, now + 7 * DAY);
    expect(store.getKey(doomed.keyId)).toBeUndefined();
    expect(store.allAliases()).toEqual([]);
    expect(store.getKey(rotating.keyId)!.versions).toHaveLength(1);
    await applyScheduledChanges(store, now + 200 * DAY);
    const rotated = (await KeyStore.open(dir)).getKey(rotating.keyId)!;
    expect(rotated.versions).toHaveLength(2);
    expect(rotated.nextRotationDate).toBe(now + 270 * DAY);
  });
});

describe('TLS material', () => {
  it('keeps its CA and server certificate across starts and re-issues the certificate for a new host name', async () => {
    const dir = await tempDir();
    const now = Date.now();
    const a = await ensureTlsMaterial(dir, '127.0.0.1', now);
    const b = await ensureTlsMaterial(dir, '127.0.0.1', now);
    expect(b).toEqual(a);
    const cert = new X509Certificate(a.certPem);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.verify(new X509Certificate(a.caPem).publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    const c = await ensureTlsMaterial(dir, 'kms.test', now);
    expect(c.caPem).toBe(a.caPem);
    expect(c.certPem).not.toBe(a.certPem);
    expect(new X509Certificate(c.certPem).checkHost('kms.test')).toBe('kms.test');
    // Near expiry (within 30 days of the 397-day validity) the certificate is renewed.
    const later = await ensureTlsMaterial(dir, 'kms.test', now + 380 * DAY);
    expect(later.certPem).not.toBe(c.certPem);
    expect(later.caPem).toBe(a.caPem);
  });
});

describe('quota and fault settings', () => {
  it('token bucket: N per second, refilled in proportion to elapsed time', () => {
    const q = new RequestQuota(10, 0);
    for (let i = 0; i < 10; i++) expect(q.take(0)).toBe(true);
    expect(q.take(0)).toBe(false);
    expect(q.take(100)).toBe(true);
    expect(q.take(100)).toBe(false);
    expect(q.take(10_000)).toBe(true);
  });

  it('validates updates and refuses unknown settings', () => {
    expect(mergeFaultSettings(DEFAULT_FAULTS, { latencyMs: 10 })).toMatchObject({ latencyMs: 10, quotaPerSecond: 5500, failRate: 0 });
    for (const bad of [{ failRate: -0.1 }, { failRate: 'x' }, { failError: 'NoSuchError' }, { quotaPerSecond: 0 }, { rsaQuotaPerSecond: 0 }, { eccQuotaPerSecond: 2.5 }, { latencyMs: 1.5 }, { other: 1 }, [], null]) {
      expect(() => mergeFaultSettings(DEFAULT_FAULTS, bad)).toThrow(RangeError);
    }
  });
});

describe('request members', () => {
  it('separates type errors (SerializationException) from constraint errors (ValidationException)', () => {
    const shape = RequestShape.parse(Buffer.from('{"KeyId":"k","Limit":2000,"Blob":"AAAA","Bad":"!!","Ctx":{"a":1}}'));
    expect(() => shape.integer('Limit', { min: 1, max: 1000 })).toThrow(/less than or equal to 1000/);
    expect(() => shape.integer('KeyId', { min: 1, max: 10 })).toThrow(expect.objectContaining({ type: 'SerializationException' }));
    expect(shape.blob('Blob', { max: 3 })).toEqual(Buffer.from([0, 0, 0]));
    expect(() => shape.blob('Blob', { max: 2 })).toThrow(expect.objectContaining({ type: 'ValidationException' }));
    expect(() => shape.blob('Bad')).toThrow(expect.objectContaining({ type: 'SerializationException' }));
    expect(() => shape.stringMap('Ctx')).toThrow(expect.objectContaining({ type: 'SerializationException' }));
    expect(() => RequestShape.parse(Buffer.from('[]'))).toThrow(expect.objectContaining({ type: 'SerializationException' }));
    expect(RequestShape.parse(Buffer.alloc(0)).has('KeyId')).toBe(false);
  });
});
