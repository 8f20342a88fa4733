/**
 * The store simulators through the real CLI: `enclavekit sim ssm` and `enclavekit sim secretsmanager`
 * as child processes (own ports, discovery files, the KMS simulator's CA), a parameter and a secret
 * written, both processes killed with SIGKILL, restarted on the same state, and everything they
 * acknowledged still there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetSecretValueCommand, PutSecretValueCommand, CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadCredentials, type SimPrincipal } from '../../sim/state.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { makeStateDir } from '../kms/harness.js';

const cli = join(REPO_ROOT, 'bin', 'enclavekit.js');
let dir: string;
let admin: SimPrincipal;
const children: ChildProcess[] = [];

interface Running { child: ChildProcess; endpoint: string; region: string; caPem: string }

async function startCli(service: 'ssm' | 'secretsmanager'): Promise<Running> {
  const child = spawn(process.execPath, [cli, 'sim', service, '--state', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim ${service} did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /^endpoint: (\S+)$/m.exec(stdout);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim ${service} exited with ${code}: ${stderr}`));
    });
  });
  const discovery = JSON.parse(await readFile(join(dir, `${service}.json`), 'utf8')) as { endpoint: string; region: string; caFile: string };
  expect(discovery.endpoint).toBe(endpoint);
  expect(discovery.caFile).toBe(join(dir, 'kms', 'tls', 'ca.pem'));
  expect(stderr).toContain('ENCLAVEKIT SIMULATOR');
  return { child, endpoint, region: discovery.region, caPem: await readFile(discovery.caFile, 'utf8') };
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const options = (run: Running) => ({
  endpoint: run.endpoint,
  region: run.region,
  credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: run.caPem, keepAlive: false }) }),
});

beforeAll(async () => {
  ensureBuilt();
  dir = await makeStateDir('ek-stores-cli-');
  // `sim init`'s role/admin carries ssm:* and secretsmanager:*.
  admin = (await loadCredentials(dir)).find((p) => p.arn.endsWith(':role/admin'))!;
});

afterAll(async () => {
  for (const child of children) await killHard(child);
  await rm(dir, { recursive: true, force: true });
});

describe('sim ssm and sim secretsmanager survive SIGKILL', () => {
  it('keep every acknowledged parameter version and secret version', async () => {
    const ssmRun = await startCli('ssm');
    const smRun = await startCli('secretsmanager');
    const ssm = new SSMClient(options(ssmRun));
    const sm = new SecretsManagerClient(options(smRun));
    await ssm.send(new PutParameterCommand({ Name: '/cli/p', Value: 'one', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/cli/p', Value: 'two', Type: 'String', Overwrite: true }));
    await sm.send(new CreateSecretCommand({ Name: 'cli/s', SecretString: 'first' }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'cli/s', SecretString: 'second' }));
    ssm.destroy();
    sm.destroy();
    await killHard(ssmRun.child);
    await killHard(smRun.child);
    expect(ssmRun.child.signalCode).toBe('SIGKILL');

    const ssm2 = new SSMClient(options(await startCli('ssm')));
    const sm2 = new SecretsManagerClient(options(await startCli('secretsmanager')));
    expect((await ssm2.send(new GetParameterCommand({ Name: '/cli/p:1' }))).Parameter!.Value).toBe('one');
    expect((await ssm2.send(new GetParameterCommand({ Name: '/cli/p' }))).Parameter!.Value).toBe('two');
    expect((await sm2.send(new GetSecretValueCommand({ SecretId: 'cli/s' }))).SecretString).toBe('second');
    expect((await sm2.send(new GetSecretValueCommand({ SecretId: 'cli/s', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('first');
    ssm2.destroy();
    sm2.destroy();
  });
});
