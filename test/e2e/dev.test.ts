/**
 * `npm start` (= `enclavekit dev`): the whole stack on the simulator, as a user runs it. Starts it,
 * waits for dev.json, checks /readyz and the attestation route, tokenizes a card with the README's
 * example script (the AWS Encryption SDK in a separate process), checks operation binding and the
 * two-key layout with the producer credentials of dev.json, then Ctrl-C stops everything.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { kmsClient } from '../kms/harness.js';
import { esdkProducer } from './producer.js';

const execFileAsync = promisify(execFile);

interface DevJson {
  parentUrl: string;
  apiToken: string;
  enclavePid: number;
  kms: { endpoint: string; region: string; caFile: string | null; keyArn: string; internalKeyArn: string; clientCredentials: { accessKeyId: string; secretAccessKey: string } };
}

/**
 * On the stack exactly as `npm start` sets it up, with the producer credentials dev.json hands out:
 * values are bound to their operation and field, and the producer can know no enclave key.
 */
async function operationBindingAndKeySeparation(dev: DevJson): Promise<void> {
  const sim = { endpoint: dev.kms.endpoint, region: dev.kms.region, caPem: dev.kms.caFile === null ? null : readFileSync(dev.kms.caFile, 'utf8') };
  const producer = esdkProducer(sim, { arn: 'dev.json client', ...dev.kms.clientCredentials }, dev.kms.keyArn);
  const kms = kmsClient(sim, dev.kms.clientCredentials);
  const post = async (pathname: string, body: unknown) => {
    const res = await fetch(`${dev.parentUrl}${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  try {
    const ssn = { esdk: await producer.seal('536-22-1184', { purpose: 'pii-value', field: 'ssn' }) };
    expect((await post('/v1/pii/blind-index', { field: 'ssn', values: [ssn] })).json.results[0].digest).toMatch(/^[0-9a-f]{64}$/);
    expect((await post('/v1/pii/blind-index', { field: 'email', values: [ssn] })).json.results[0]).toMatchObject({ error: { code: 'ERR_ENCRYPTION_CONTEXT' } });
    expect(await post('/v1/pii/redact', { text: ssn })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    const card = { esdk: await producer.seal('call 555-0100', { purpose: 'card' }) };
    expect(await post('/v1/pii/redact', { text: card })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });

    const denied = async (attempt: Promise<unknown>) => attempt.then(() => 'ok', (error: { name?: string }) => error.name);
    expect(await denied(kms.send(new GenerateDataKeyCommand({ KeyId: dev.kms.keyArn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'tokenization-key' } })))).toBe('AccessDeniedException');
    expect(dev.kms.internalKeyArn).toMatch(/^arn:aws:kms:/);
    expect(dev.kms.internalKeyArn).not.toBe(dev.kms.keyArn);
    const KeyId = dev.kms.internalKeyArn;
    for (const attempt of [
      kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'tokenization-key' } })),
      kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'tokenization-key' } })),
      kms.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array(32), EncryptionContext: { purpose: 'card' } })),
      kms.send(new DescribeKeyCommand({ KeyId })),
    ]) {
      expect(await denied(attempt)).toBe('AccessDeniedException');
    }
  } finally {
    producer.close();
    kms.destroy();
  }
}

describe('npm start: the dev stack', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('starts, serves, tokenizes a card sealed by the example script, and stops on SIGINT', async () => {
    ensureBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'dev', '--dir', dir, '--port', '0', '--quiet'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const devJson = path.join(dir, 'dev.json');
    for (let i = 0; i < 600 && !existsSync(devJson) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(devJson), output).toBe(true);
    const dev = JSON.parse(readFileSync(devJson, 'utf8')) as DevJson;
    expect(output).toContain('ENCLAVEKIT SIMULATOR');
    expect(output).toContain(`curl -s ${dev.parentUrl}/readyz`);

    expect((await fetch(`${dev.parentUrl}/readyz`)).status).toBe(200);
    const attestation = await fetch(`${dev.parentUrl}/v1/attestation?nonce=00112233`, { headers: { authorization: `Bearer ${dev.apiToken}` } });
    expect(attestation.status).toBe(200);

    const { stdout } = await execFileAsync(process.execPath, ['examples/tokenize-card.mjs', '4000056655665556', '12/39'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENCLAVEKIT_DEV_JSON: devJson },
    });
    const [status, body] = [stdout.slice(0, 3), JSON.parse(stdout.slice(4)) as Record<string, unknown>];
    expect(status).toBe('200');
    expect(body).toMatchObject({ bin: '400005', last4: '5556', brand: 'visa', luhnValid: true, expired: false });

    await operationBindingAndKeySeparation(dev);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // The enclave went with it.
    expect(() => process.kill(dev.enclavePid, 0)).toThrow();
  });
});
