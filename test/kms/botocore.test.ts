/**
 * The same simulator driven by botocore (Python: its own SigV4 signer and JSON 1.1 client), for
 * independence from the JavaScript SDK: asymmetric and HMAC keys, tags, grants, IAM delegation and
 * validation errors. The RSA-PSS signature botocore receives is checked again with OpenSSL.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

function available(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const BOTO3 = available('python3', ['-c', 'import boto3']);
const OPENSSL = available('openssl', ['version']);
if (!BOTO3) console.warn('python3 with boto3 not found (Debian: python3-boto3): the botocore interop test is skipped');
if (!OPENSSL) console.warn('openssl not found: the botocore test skips its OpenSSL check');

let h: Harness;
let work: string;

beforeAll(async () => {
  h = await startHarness();
  work = await mkdtemp(join(tmpdir(), 'ek-kms-boto-'));
});
afterAll(async () => {
  await h.close();
  await rm(work, { recursive: true, force: true });
});

describe('botocore against the simulator', () => {
  it.skipIf(!BOTO3)('signs, verifies, MACs, tags, grants and denies as the JavaScript SDK sees it', async () => {
    const ca = join(work, 'ca.pem');
    await writeFile(ca, h.sim.caPem!);
    const creds = JSON.stringify({ admin: h.principal('admin'), client: h.principal('client') });
    // Asynchronous: the simulator runs in this process and must keep answering.
    const { stdout } = await promisify(execFile)('python3', [join(import.meta.dirname, 'botocore/drive.py'), h.sim.endpoint, h.sim.region, ca], {
      timeout: 60_000,
      env: { ...process.env, SIM_CREDENTIALS: creds },
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out['signatureValid']).toBe(true);
    expect(out['badSignature']).toMatchObject({ code: 'KMSInvalidSignatureException' });
    expect(out['macValid']).toBe(true);
    expect(out['tags']).toEqual([{ TagKey: 'team', TagValue: 'cards' }]);
    expect(out['awsTag']).toMatchObject({ code: 'TagException' });
    expect(out['producerDecrypt']).toMatchObject({ code: 'AccessDeniedException', message: expect.stringMatching(/because no identity-based policy allows the kms:Decrypt action$/) });
    expect(out['grantDecrypt']).toBe('secret');
    expect(out['randomZero']).toMatchObject({ code: 'ValidationException', message: expect.stringContaining("Value '0' at 'numberOfBytes'") });
    if (OPENSSL) {
      const pub = join(work, 'pub.pem');
      await writeFile(pub, createPublicKey({ key: Buffer.from(out['publicKey'] as string, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }));
      await writeFile(join(work, 'msg'), 'botocore');
      await writeFile(join(work, 'sig'), Buffer.from(out['signature'] as string, 'base64'));
      const verified = execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(work, 'sig'), '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', join(work, 'msg')]).toString();
      expect(verified).toContain('Verified OK');
    }
  });
});
