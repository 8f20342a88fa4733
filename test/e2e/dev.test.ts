/**
 * `npm start` (= `enclavekit dev`): the whole stack on the simulator, as a user runs it. Starts it,
 * waits for dev.json, checks /readyz and the attestation route, tokenizes a card with the README's
 * example script (the AWS Encryption SDK in a separate process), checks operation binding and the
 * two-key layout with the producer credentials of dev.json, and the demo HPKE sender and
 * detokenize-to recipient dev.json lists, then Ctrl-C stops everything. --config (two enclaves,
 * public submission on), --public-submission, and a config file with a wrong field.
 * Then the lifecycle: a second start in the same directory becomes ready, SIGKILL of the
 * supervisor leaves no child behind, a third start after that becomes ready, and a child that
 * fails is reported with its cause.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms';
import { HpkeRecipient, openDetokenized, sealCardForEnclave } from '../../shared/hpke/index.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { kmsClient } from '../kms/harness.js';
import { esdkProducer } from './producer.js';

const execFileAsync = promisify(execFile);

interface DevJson {
  parentUrl: string;
  apiToken: string;
  apiTokenScopes: string[];
  simRootFile: string;
  pcrs: Record<number, string>;
  hpkeSender: { publicKey: string; privateKeyFile: string };
  detokenizeRecipient: { name: string; publicKey: string; privateKeyFile: string };
  publicSubmission: boolean;
  enclavePid: number;
  enclavePids: number[];
  pids: { kms: number; enclave: number; parent: number };
  kms: { endpoint: string; region: string; caFile: string | null; keyArn: string; internalKeyArn: string; clientCredentials: { accessKeyId: string; secretAccessKey: string } };
  ssm: { endpoint: string };
  secretsManager: { endpoint: string };
  demoSecret: { store: string; name: string };
}

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startDev(dir: string, extra: string[] = []): Run {
  const child = spawn(process.execPath, ['bin/enclavekit.js', 'dev', '--dir', dir, '--port', '0', ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitDevJson(run: Run, dir: string): Promise<DevJson> {
  const devJson = path.join(dir, 'dev.json');
  // dev.json of an earlier, killed run may still be there: the run's own ready line decides.
  for (let i = 0; i < 600 && !run.output().includes('"dev-ready"') && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  expect(run.output(), run.output()).toContain('"dev-ready"');
  expect(existsSync(devJson)).toBe(true);
  return JSON.parse(readFileSync(devJson, 'utf8')) as DevJson;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
    // One call at a time, each awaited as it is made: a rejection never waits unobserved.
    for (const attempt of [
      () => kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'tokenization-key' } })),
      () => kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'tokenization-key' } })),
      () => kms.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array(32), EncryptionContext: { purpose: 'card' } })),
      () => kms.send(new DescribeKeyCommand({ KeyId })),
    ]) {
      expect(await denied(attempt())).toBe('AccessDeniedException');
    }
  } finally {
    producer.close();
    kms.destroy();
  }
}

const readKey = (file: string): Uint8Array => new Uint8Array(Buffer.from(readFileSync(file, 'utf8'), 'base64'));

/** Tokenizes a card sealed with HPKE to the enclave of a verified document: Auth mode with `senderKey`, else Base mode. */
async function tokenizeHpke(dev: DevJson, senderKey?: Uint8Array): Promise<{ status: number; json: any }> {
  const headers = { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' };
  const { document } = (await (await fetch(`${dev.parentUrl}/v1/attestation`, { headers })).json()) as { document: string };
  const verify = { at: Date.now(), roots: [readFileSync(dev.simRootFile, 'utf8')], expectedPcrs: { 0: dev.pcrs[0]! }, maxAgeMs: 60_000 };
  const hpke = await sealCardForEnclave({ pan: '4111111111111111', exp: '12/30' }, { attestationDocument: new Uint8Array(Buffer.from(document, 'base64')), verify, ...(senderKey === undefined ? {} : { senderKey }) });
  const res = await fetch(`${dev.parentUrl}/v1/cards/tokenize`, { method: 'POST', headers, body: JSON.stringify({ card: { hpke } }) });
  return { status: res.status, json: await res.json() };
}

/**
 * The default stack's HPKE parties from dev.json: the demo sender is allowlisted (Auth mode
 * tokenizes), anonymous submission is refused, and the demo recipient opens the PAN that
 * detokenize-to re-encrypted with the token dev.json holds.
 */
async function demoPartiesWork(dev: DevJson): Promise<void> {
  for (const file of [dev.hpkeSender.privateKeyFile, dev.detokenizeRecipient.privateKeyFile]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
  expect(dev.publicSubmission).toBe(false);
  expect(await tokenizeHpke(dev)).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
  const auth = await tokenizeHpke(dev, readKey(dev.hpkeSender.privateKeyFile));
  expect(auth).toMatchObject({ status: 200, json: { last4: '1111' } });
  expect(dev.apiTokenScopes).toContain(`cards:detokenize:${dev.detokenizeRecipient.name}`);
  const token = auth.json.token as string;
  const res = await fetch(`${dev.parentUrl}/v1/cards/detokenize-to`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token, recipient: dev.detokenizeRecipient.name }),
  });
  expect(res.status).toBe(200);
  const recipient = await HpkeRecipient.fromPrivateKey(readKey(dev.detokenizeRecipient.privateKeyFile));
  const verify = { at: Date.now(), roots: [readFileSync(dev.simRootFile, 'utf8')], expectedPcrs: { 0: dev.pcrs[0]! }, maxAgeMs: 60_000 };
  expect(await openDetokenized((await res.json()) as any, { token, recipient, verify })).toEqual({ pan: '4111111111111111' });
}

describe('npm start: the dev stack', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('starts, serves, tokenizes a card sealed by the example script, and stops on SIGINT', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    const run = startDev(dir);
    const dev = await waitDevJson(run, dir);
    expect(run.output()).toContain('ENCLAVEKIT SIMULATOR');
    expect(run.output()).toContain(`curl -s ${dev.parentUrl}/readyz`);

    expect((await fetch(`${dev.parentUrl}/readyz`)).status).toBe(200);
    const statusCmd = await execFileAsync(process.execPath, ['bin/enclavekit.js', 'status', '--dev-json', path.join(dir, 'dev.json')], { cwd: REPO_ROOT });
    expect(statusCmd.stdout).toBe(`parent ${dev.parentUrl}: ready (an enclave booted and loaded its keys)\n`);
    const attestation = await fetch(`${dev.parentUrl}/v1/attestation?nonce=00112233`, { headers: { authorization: `Bearer ${dev.apiToken}` } });
    expect(attestation.status).toBe(200);

    const { stdout } = await execFileAsync(process.execPath, ['examples/tokenize-card.mjs', '4000056655665556', '12/39'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENCLAVEKIT_DEV_JSON: path.join(dir, 'dev.json') },
    });
    const [status, body] = [stdout.slice(0, 3), JSON.parse(stdout.slice(4)) as Record<string, unknown>];
    expect(status).toBe('200');
    expect(body).toMatchObject({ bin: '400005', last4: '5556', brand: 'visa', luhnValid: true, expired: false });

    await operationBindingAndKeySeparation(dev);
    await demoPartiesWork(dev);
    // The demo sealed secret (docs/secrets.md): put in Parameter Store, loaded by the enclave.
    expect(dev.demoSecret).toEqual({ store: 'ssm', name: '/enclavekit/dev/demo-secret' });
    for (const store of [dev.ssm, dev.secretsManager]) expect(store.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    // The enclave went with it.
    expect(alive(dev.enclavePid)).toBe(false);

    // Not a terminal: JSON lines, each with a level and a component; each enclave event once.
    const lines = run.output().trim().split('\n');
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(['debug', 'info', 'warn', 'error'], line).toContain(record.level);
      expect(typeof record.component, line).toBe('string');
    }
    expect(lines.filter((l) => l.includes('keys-loaded'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('secret-loaded') && l.includes('/enclavekit/dev/demo-secret'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('secret-load-failed'))).toEqual([]);
    expect(lines.filter((l) => l.includes('"kms-call"')).length).toBeGreaterThanOrEqual(2);
    expect(run.output()).not.toContain('enclave-event');

    // The stack is down now: the example says so in one line, without a stack trace.
    const down = await execFileAsync(process.execPath, ['examples/tokenize-card.mjs'], { cwd: REPO_ROOT, env: { ...process.env, ENCLAVEKIT_DEV_JSON: path.join(dir, 'dev.json') } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^tokenize-card: cannot .*is the dev stack \(npm start\) running\?\n$/);
  }, 120_000);

  it('starts again in the same directory; SIGKILL of the supervisor leaves no child; the next start is ready', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    // Isolated where possible: the enclave then runs under `unshare`, which keeps the lifeline pipe.
    const first = startDev(dir);
    const firstDev = await waitDevJson(first, dir);
    first.child.kill('SIGKILL');
    await first.exited;
    const pids = Object.values(firstDev.pids);
    expect(pids).toHaveLength(3);
    for (let i = 0; i < 200 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive), 'children still running after SIGKILL of the supervisor').toEqual([]);
    // What the killed run left behind (parent.url, sockets, dev.json) must not confuse the next.
    expect(existsSync(path.join(dir, 'run', 'parent.url'))).toBe(true);

    const second = startDev(dir, ['--no-isolation', '--quiet']);
    const dev = await waitDevJson(second, dir);
    // --no-isolation is a choice, not a condition to warn about.
    expect(second.output()).not.toMatch(/isolation is OFF/);
    expect(dev.parentUrl).not.toBe(firstDev.parentUrl);
    expect((await fetch(`${dev.parentUrl}/readyz`)).status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(Object.values(dev.pids).filter(alive)).toEqual([]);
  }, 120_000);

  it('reports the cause when a child fails: the parent cannot bind its port', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = spawn(process.execPath, ['bin/enclavekit.js', 'dev', '--dir', dir, '--port', String(port), '--quiet', '--no-isolation'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      run.stdout.resume();
      const code = await new Promise<number | null>((resolve) => run.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(stderr).toMatch(/^enclavekit dev: parent exited \(code 1\): .*EADDRINUSE.*\n$/);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('--config FILE: two enclaves behind the parent, public submission switched on', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    const config = path.join(dir, 'dev-config.json');
    writeFileSync(config, JSON.stringify({ enclaves: 2, enclave: { cards: { publicSubmission: { enabled: true } } } }));
    const run = startDev(dir, ['--config', config, '--no-isolation']);
    const dev = await waitDevJson(run, dir);
    expect(dev.enclavePids).toHaveLength(2);
    expect(new Set(dev.enclavePids).size).toBe(2);
    expect(dev.publicSubmission).toBe(true);
    // Each enclave booted and loaded its keys.
    for (let i = 0; i < 100 && run.output().split('\n').filter((l) => l.includes('keys-loaded')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(run.output().split('\n').filter((l) => l.includes('keys-loaded'))).toHaveLength(2);
    const { stdout } = await execFileAsync(process.execPath, ['examples/tokenize-card.mjs', '4000056655665556', '12/39'], { cwd: REPO_ROOT, env: { ...process.env, ENCLAVEKIT_DEV_JSON: path.join(dir, 'dev.json') } });
    expect(stdout.slice(0, 3)).toBe('200');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(dev.enclavePids.filter(alive)).toEqual([]);
  }, 120_000);

  it('--public-submission: an anonymous (Base mode) card is tokenized', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    const run = startDev(dir, ['--public-submission', '--quiet', '--no-isolation']);
    const dev = await waitDevJson(run, dir);
    expect(dev.publicSubmission).toBe(true);
    expect(await tokenizeHpke(dev)).toMatchObject({ status: 200, json: { last4: '1111' } });
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  }, 120_000);

  it('refuses a config file with a wrong field before starting anything, naming the file and the field', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    dirs.push(dir);
    const config = path.join(dir, 'dev-config.json');
    writeFileSync(config, JSON.stringify({ enclave: { cards: { publicSubmision: { enabled: true } } } }));
    const run = startDev(dir, ['--config', config]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toBe(`enclavekit dev: dev config ${config}: enclave.cards: unknown field (publicSubmision)\n`);
    expect(existsSync(path.join(dir, 'sim'))).toBe(false);
  }, 60_000);
});
