/**
 * The shared cryptographic quota (ThrottlingException) and injected faults, set at start, through
 * the handle, and through the loopback-only /__sim/faults endpoint. Clocks are pinned: the quota
 * bucket refills only when the test moves the clock.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateMacCommand, GenerateRandomCommand, ListKeysCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { FAULTS_PATH } from '../../sim/kms/index.js';
import { kmsError, startHarness, type Harness } from './harness.js';

const T0 = Date.now();
let clock = T0;
let h: Harness;
let admin: KMSClient;

beforeAll(async () => {
  h = await startHarness({ now: () => clock, faults: { quotaPerSecond: 5 }, faultSeed: 42 });
  admin = h.client('admin');
});

afterAll(async () => {
  await h.close();
});

function adminEndpoint(method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(FAULTS_PATH, h.sim.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: h.sim.caPem ?? undefined, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('quota', () => {
  it('throttles cryptographic operations beyond the per-second quota, not management ones, and refills with time', async () => {
    let ok = 0;
    let throttled: { name: string; status: number | undefined; message: string } | undefined;
    for (let i = 0; i < 20 && throttled === undefined; i++) {
      try {
        await admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
        ok += 1;
      } catch {
        throttled = await kmsError(admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 })));
      }
    }
    expect(ok).toBe(5);
    expect(throttled).toEqual({
      name: 'ThrottlingException',
      status: 400,
      message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
    });
    // Shared: Encrypt draws on the same empty bucket.
    const key = await admin.send(new CreateKeyCommand({}));
    expect((await kmsError(admin.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('x') })))).name).toBe('ThrottlingException');
    // Management operations have their own quotas in KMS; the shared one does not apply.
    expect((await admin.send(new ListKeysCommand({}))).Keys!.length).toBeGreaterThan(0);

    clock += 400; // 400 ms at 5/s = 2 tokens
    await admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    await admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    expect((await kmsError(admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).name).toBe('ThrottlingException');
  });
});

describe('per-key-type quotas', () => {
  it('meter RSA and ECC keys in buckets of their own; HMAC keys share the symmetric one', async () => {
    h.sim.setFaults({ quotaPerSecond: 2, rsaQuotaPerSecond: 3, eccQuotaPerSecond: 1 });
    expect(h.sim.faults()).toMatchObject({ quotaPerSecond: 2, rsaQuotaPerSecond: 3, eccQuotaPerSecond: 1 });
    const rsa = (await admin.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;
    const ecc = (await admin.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;
    const hmac = (await admin.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.Arn!;
    const signRsa = () => admin.send(new SignCommand({ KeyId: rsa, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
    const signEcc = () => admin.send(new SignCommand({ KeyId: ecc, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    for (let i = 0; i < 3; i++) await signRsa();
    expect((await kmsError(signRsa())).name).toBe('ThrottlingException');
    await signEcc();
    expect((await kmsError(signEcc())).name).toBe('ThrottlingException');
    // The symmetric bucket is untouched by them, and HMAC draws on it.
    await admin.send(new GenerateMacCommand({ KeyId: hmac, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }));
    await admin.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    expect((await kmsError(admin.send(new GenerateMacCommand({ KeyId: hmac, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' })))).name).toBe('ThrottlingException');
    clock += 1000;
    await signEcc();
    await signRsa();
  });
});

describe('injected faults', () => {
  it('fails the chosen operations with the chosen error, through the handle', async () => {
    h.sim.setFaults({ quotaPerSecond: 1000 });
    const key = await admin.send(new CreateKeyCommand({}));
    const blob = (await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    h.sim.setFaults({ failRate: 1, failError: 'KMSInternalException', failOperations: ['Decrypt'] });
    const err = await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(err.name).toBe('KMSInternalException');
    expect(err.status).toBe(500);
    expect((await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('y') }))).CiphertextBlob!.length).toBeGreaterThan(0);
    h.sim.setFaults({ failRate: 0 });
    expect(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('x');
    expect(() => h.sim.setFaults({ failRate: 2 })).toThrow(RangeError);
  });

  it('draws a seeded fraction of failures', async () => {
    h.sim.setFaults({ failRate: 0.5, failError: 'DependencyTimeoutException', failOperations: [], quotaPerSecond: 1000 });
    const names: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        await admin.send(new GenerateRandomCommand({ NumberOfBytes: 1 }));
        names.push('ok');
      } catch (error) {
        names.push((error as Error).name);
      }
    }
    h.sim.setFaults({ failRate: 0 });
    expect(new Set(names)).toEqual(new Set(['ok', 'DependencyTimeoutException']));
  });

  it('are readable and settable at runtime on the loopback /__sim/faults endpoint', async () => {
    const set = await adminEndpoint('POST', { failRate: 1, failError: 'KeyUnavailableException', latencyMs: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ failRate: 1, failError: 'KeyUnavailableException', latencyMs: 5 });
    const err = await kmsError(admin.send(new GenerateRandomCommand({ NumberOfBytes: 1 })));
    expect(err.name).toBe('KeyUnavailableException');
    expect(err.status).toBe(500);
    expect((await adminEndpoint('GET')).body).toMatchObject({ failRate: 1, latencyMs: 5 });
    const bad = await adminEndpoint('POST', { failRate: 1, surprise: true });
    expect(bad.status).toBe(400);
    expect(bad.body['__type']).toBe('ValidationException');
    expect(String(bad.body['message'])).toContain("unknown fault setting 'surprise'");
    await adminEndpoint('POST', { failRate: 0, latencyMs: 0 });
    expect((await admin.send(new GenerateRandomCommand({ NumberOfBytes: 2 }))).Plaintext!.length).toBe(2);
  });
});
