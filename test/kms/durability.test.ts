/**
 * Restart durability through the real CLI: `node bin/enclavekit.js sim kms --state DIR --port 0`
 * as a child process, keys and data made, the process killed with SIGKILL (no chance to flush),
 * restarted, and everything it acknowledged still there and decrypting.
 */
import { ensureBuilt } from '../helpers/built.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  ListAliasesCommand,
  RotateKeyOnDemandCommand,
  DisableKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { loadCredentials, type SimPrincipal } from '../../sim/state.js';
import { kmsClient, makeStateDir } from './harness.js';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(repoRoot, 'bin', 'enclavekit.js');

let dir: string;
let admin: SimPrincipal;
const children: ChildProcess[] = [];

interface Running { child: ChildProcess; endpoint: string; caPem: string; caFile: string; region: string }

/** Starts the CLI and waits (bounded) for the endpoint line and kms.json. */
async function startCli(): Promise<Running> {
  const child = spawn(process.execPath, [cli, 'sim', 'kms', '--state', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim kms did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /^endpoint: (\S+)$/m.exec(stdout);
      if (m !== null) {
        clearTimeout(timer);
        resolveEndpoint(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim kms exited with ${code}: ${stderr}`));
    });
  });
  const discovery = JSON.parse(await readFile(join(dir, 'kms.json'), 'utf8')) as { endpoint: string; region: string; caFile: string };
  expect(discovery.endpoint).toBe(endpoint);
  expect(stderr).toContain('ENCLAVEKIT SIMULATOR');
  return { child, endpoint, caFile: discovery.caFile, caPem: await readFile(discovery.caFile, 'utf8'), region: discovery.region };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolveKill) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveKill();
      return;
    }
    child.once('exit', () => resolveKill());
    child.kill('SIGKILL');
  });
}

function clientFor(run: Running): KMSClient {
  return kmsClient({ endpoint: run.endpoint, region: run.region, caPem: run.caPem }, { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey });
}

beforeAll(async () => {
  // `npm test` builds dist/ first; build here only when it is missing (a bare `vitest run`).
  ensureBuilt();
  dir = await makeStateDir('ek-kms-durable-');
  admin = (await loadCredentials(dir)).find((p) => p.arn.endsWith(':role/admin'))!;
});

afterAll(async () => {
  for (const child of children) await killHard(child);
  await rm(dir, { recursive: true, force: true });
});

describe('sim kms survives SIGKILL', () => {
  it('decrypts after a restart everything it encrypted before, with keys, versions, aliases, policies and state intact', async () => {
    const first = await startCli();
    const c1 = clientFor(first);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'AdminOnly', Effect: 'Allow', Principal: { AWS: admin.arn }, Action: 'kms:*', Resource: '*' }],
    });
    const key = (await c1.send(new CreateKeyCommand({ Description: 'durable', Policy: policy }))).KeyMetadata!;
    await c1.send(new CreateAliasCommand({ AliasName: 'alias/durable', TargetKeyId: key.KeyId }));
    const v1 = await c1.send(new EncryptCommand({ KeyId: 'alias/durable', Plaintext: Buffer.from('before rotation'), EncryptionContext: { n: '1' } }));
    await c1.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const v2 = await c1.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('after rotation') }));
    const dk = await c1.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
    const other = (await c1.send(new CreateKeyCommand({ Description: 'disabled' }))).KeyMetadata!;
    await c1.send(new DisableKeyCommand({ KeyId: other.KeyId }));
    c1.destroy();

    await killHard(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await startCli();
    // The CA is kept: a client that trusts the old CA file still connects.
    expect(second.caPem).toBe(first.caPem);
    const c2 = clientFor(second);
    const d1 = await c2.send(new DecryptCommand({ CiphertextBlob: v1.CiphertextBlob, EncryptionContext: { n: '1' } }));
    expect(Buffer.from(d1.Plaintext!).toString()).toBe('before rotation');
    expect(Buffer.from((await c2.send(new DecryptCommand({ CiphertextBlob: v2.CiphertextBlob }))).Plaintext!).toString()).toBe('after rotation');
    expect(Buffer.from((await c2.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
    expect((await c2.send(new DescribeKeyCommand({ KeyId: 'alias/durable' }))).KeyMetadata!.KeyId).toBe(key.KeyId);
    expect((await c2.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }))).Policy).toBe(policy);
    expect((await c2.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName)).toEqual(['alias/durable']);
    expect((await c2.send(new DescribeKeyCommand({ KeyId: other.KeyId }))).KeyMetadata!.KeyState).toBe('Disabled');
    c2.destroy();

    // Key material is readable by the owner only.
    const keysDir = join(dir, 'kms', 'keys');
    const files = await readdir(keysDir);
    expect(files.length).toBe(2);
    for (const f of files) expect((await stat(join(keysDir, f))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'kms', 'aliases.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'kms', 'tls', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    await killHard(second.child);
  });
});
