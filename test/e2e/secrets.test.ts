/**
 * Sealed secrets end to end (docs/secrets.md "Sealed secrets in the enclave"), with the enclave and
 * the parent as separate processes: `enclavekit secrets put` (a child process) seals a secret into
 * each store; the enclave loads both through the parent's tunnel, a custom operation uses them as
 * HMAC keys through the parent, and after a rotation the new version signs while the old one keeps
 * verifying until it is retired. Attacks: every byte the parent handled (HTTP, enclave link, the
 * tunnels, its upstream connections to KMS and both stores, its logs) and the enclave's own log
 * hold no plaintext (raw, hex, base64); the parent's credentials cannot Decrypt a stored
 * ciphertext; a ciphertext moved into another secret's slot is refused and the enclave stays up.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { DecryptCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeClientsFor, type StoreEndpoint } from '../../cli/dev/stack-stores.js';
import { ensureBuilt } from '../helpers/built.js';
import { enclavekit } from '../cli/run.js';
import { parentView, REPO, startStack, type Stack } from './stack.js';
import { findLeaks } from './tap.js';
import { whenWorkersReady } from './worker-events.js';

const SSM_NAME = '/enclavekit/e2e/hmac-key';
const SM_NAME = 'enclavekit/e2e/api-key';
const RETIRE_AFTER_MS = 8_000;
const BUNDLES = path.join(REPO, 'dist', 'e2e-secrets');
const CLI_BIN = path.join(REPO, 'bin', 'enclavekit.js');

/** Every plaintext version this test puts; none may appear anywhere the parent can see. */
const plaintexts: Record<string, Uint8Array> = {};
const fresh = (label: string): Uint8Array => (plaintexts[label] = new Uint8Array(randomBytes(32)));

let stack: Stack;
let keyArn = '';
let region = '';
let kmsEndpoint = '';
let caFile = '';
let stores: { ssm: StoreEndpoint; secretsmanager: StoreEndpoint };
let adminEnv: NodeJS.ProcessEnv = {};
const initial: Record<string, { value: Uint8Array; version: string }> = {};

/** `enclavekit secrets put` as an operator runs it: plaintext on stdin, credentials in the environment. */
async function put(store: 'ssm' | 'secretsmanager', name: string, value: Uint8Array): Promise<string> {
  const run = await enclavekit(
    ['secrets', 'put', '--store', store, '--name', name, '--key', keyArn, '--region', region, '--endpoint', stores[store].endpoint, '--kms-endpoint', kmsEndpoint, '--ca-file', caFile],
    { input: value, env: adminEnv },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout) as { store: string; name: string; version: string };
  expect(out).toMatchObject({ store, name });
  return out.version;
}

const hmac = (key: Uint8Array, message: string): string => createHmac('sha256', key).update(message, 'utf8').digest('hex');

async function mac(name: string, message: string, given?: string): Promise<{ mac: string; version: string; verifiedBy: string | null; versions: string[] }> {
  const res = await stack.api('/v1/test/secret-mac', { method: 'POST', body: JSON.stringify({ name, message, ...(given === undefined ? {} : { mac: given }) }) });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json;
}

/** Polls `probe` every 200 ms until it returns a value; gives up after `limitMs` (a bound, not a speed claim). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  ensureBuilt();
  // The production enclave program and parent command, each with the test operation added
  // (docs/api.md "Custom handlers"); dist/ holds them so node_modules and the addon resolve.
  await build({
    entryPoints: { enclave: path.join(REPO, 'test/e2e/secrets-app/enclave-entry.ts'), parent: path.join(REPO, 'test/e2e/secrets-app/parent-entry.ts') },
    outdir: BUNDLES,
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  stack = await startStack({
    bundle: path.join(BUNDLES, 'enclave.js'),
    cliArgv: (args) => (args[0] === 'parent' ? [path.join(BUNDLES, 'parent.js'), ...args] : [CLI_BIN, ...args]),
    beforeEnclaves: async (setup) => {
      keyArn = setup.internalKeyArn;
      region = setup.kms.region;
      kmsEndpoint = setup.kms.endpoint;
      caFile = setup.kms.caFile!;
      stores = { ssm: setup.ssm, secretsmanager: setup.secretsManager };
      const admin = setup.principal('admin');
      adminEnv = { ...process.env, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey, AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_REGION: region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      for (const [store, name] of [['ssm', SSM_NAME], ['secretsmanager', SM_NAME]] as const) {
        const value = fresh(`${name} v1`);
        initial[name] = { value, version: await put(store, name, value) };
      }
      return {
        secrets: {
          keyArn: setup.internalKeyArn,
          pollIntervalMs: 1_000,
          retireAfterMs: RETIRE_AFTER_MS,
          items: [
            { store: 'ssm', name: SSM_NAME },
            { store: 'secretsmanager', name: SM_NAME },
          ],
        },
      };
    },
  });
  await stack.waitReady(120_000);
}, 240_000);

afterAll(async () => {
  await stack?.close();
});

describe('sealed secrets in the enclave', () => {
  it('the stores hold only the KMS ciphertext, and the enclave signs with the plaintext', async () => {
    const { ssm, secretsManager } = await storeClientsFor(stack, stack.principal('admin'));
    try {
      const parameter = (await ssm.send(new GetParameterCommand({ Name: SSM_NAME }))).Parameter!;
      expect(parameter.Type).toBe('String');
      const secret = await secretsManager.send(new GetSecretValueCommand({ SecretId: SM_NAME }));
      for (const stored of [parameter.Value!, secret.SecretString!]) {
        expect(stored).toMatch(/^[A-Za-z0-9+/]+=*$/);
        expect(findLeaks({ stored }, plaintexts)).toEqual([]);
      }
    } finally {
      ssm.destroy();
      secretsManager.destroy();
    }
    for (const name of [SSM_NAME, SM_NAME]) {
      const signed = await mac(name, 'hello');
      expect(signed).toEqual({ mac: hmac(initial[name]!.value, 'hello'), version: initial[name]!.version, verifiedBy: null, versions: [initial[name]!.version] });
    }
  });

  it.each([
    ['ssm', SSM_NAME],
    ['secretsmanager', SM_NAME],
  ] as const)('%s: a new version is picked up without a restart; the old one verifies until it is retired', async (store, name) => {
    const message = `rotation of ${name}`;
    const oldMac = hmac(initial[name]!.value, message);
    const next = fresh(`${name} v2`);
    const version = await put(store, name, next);
    expect(version).not.toBe(initial[name]!.version);

    const rotated = await until('the new version', async () => {
      const r = await mac(name, message, oldMac);
      return r.version === version ? r : undefined;
    });
    expect(rotated.mac).toBe(hmac(next, message));
    // Until retireAfterMs has passed since the rotation, the old MAC still verifies (by the old version).
    expect(rotated.versions).toEqual([version, initial[name]!.version]);
    expect(rotated.verifiedBy).toBe(initial[name]!.version);

    const retired = await until('the old version to retire', async () => {
      const r = await mac(name, message, oldMac);
      return r.versions.length === 1 ? r : undefined;
    });
    expect(retired).toEqual({ mac: hmac(next, message), version, verifiedBy: null, versions: [version] });
    expect((await mac(name, message, hmac(next, message))).verifiedBy).toBe(version);
    const events = stack.enclaveOutput().split('\n').filter((l) => l.includes(`"name":${JSON.stringify(name)}`));
    expect(events.some((l) => l.includes('"event":"secret-rotated"') && l.includes(`"version":${JSON.stringify(version)}`))).toBe(true);
    expect(events.some((l) => l.includes('"event":"secret-retired"') && l.includes(`"version":${JSON.stringify(initial[name]!.version)}`))).toBe(true);
  }, 120_000);

  it("the parent's own credentials cannot Decrypt a stored ciphertext (no attestation document)", async () => {
    const { ssm, secretsManager } = await storeClientsFor(stack, stack.principal('enclave'));
    try {
      // The parent may read the store (its role reads enclavekit/ parameters and secrets) ...
      const stored = (await ssm.send(new GetParameterCommand({ Name: SSM_NAME }))).Parameter!.Value!;
      const blob = Buffer.from(stored, 'base64');
      // ... but KMS refuses it the plaintext, with or without the right context.
      for (const context of [{ purpose: 'secret', store: 'ssm', name: SSM_NAME }, undefined]) {
        const error = await stack
          .kms('enclave')
          .send(new DecryptCommand({ CiphertextBlob: blob, ...(context === undefined ? {} : { EncryptionContext: context }) }))
          .then(() => undefined, (e: unknown) => e as { name: string });
        expect(error?.name).toBe('AccessDeniedException');
      }
      expect((await secretsManager.send(new GetSecretValueCommand({ SecretId: SM_NAME }))).SecretString).toMatch(/^[A-Za-z0-9+/]+=*$/);
    } finally {
      ssm.destroy();
      secretsManager.destroy();
    }
  });

  it("a ciphertext moved into another secret's slot is refused (context mismatch); the old value stays and the enclave stays up", async () => {
    const before = await mac(SSM_NAME, 'moved');
    const { ssm, secretsManager } = await storeClientsFor(stack, stack.principal('admin'));
    try {
      const foreign = (await secretsManager.send(new GetSecretValueCommand({ SecretId: SM_NAME }))).SecretString!;
      const moved = (await ssm.send(new PutParameterCommand({ Name: SSM_NAME, Value: foreign, Type: 'String', Overwrite: true }))).Version!;
      await until('the refused poll', async () =>
        stack.enclaveOutput().split('\n').some((l) => l.includes('"event":"secret-poll-failed"') && l.includes(`"name":${JSON.stringify(SSM_NAME)}`) && l.includes('"code":"ERR_DECRYPT_FAILED"')) ? true : undefined,
      );
      const after = await mac(SSM_NAME, 'moved');
      expect(after.version).toBe(before.version);
      expect(after.version).not.toBe(String(moved));
      expect(after.mac).toBe(before.mac);
      expect((await fetch(`${stack.parentUrl}/readyz`)).status).toBe(200);
      expect(stack.enclave().exitCode).toBeNull();
    } finally {
      ssm.destroy();
      secretsManager.destroy();
    }
  });

  it('the `secrets put` block of docs/secrets.md, run as it stands, puts a version the enclave picks up', async () => {
    const doc = readFileSync(path.join(REPO, 'docs/secrets.md'), 'utf8');
    const block = /<!-- secrets-put:begin -->\n```sh\n([\s\S]*?)```\n<!-- secrets-put:end -->/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const [command, expected] = block!.trim().split('\n') as [string, string];
    // A text secret (a shell variable cannot hold every byte), as an operator would paste one.
    const value = randomBytes(32).toString('hex');
    plaintexts[`${SSM_NAME} from the docs`] = new Uint8Array(Buffer.from(value));
    const env = { ...adminEnv, SECRET_VALUE: value, SECRET_NAME: SSM_NAME, INTERNAL_KEY_ARN: keyArn, AWS_ENDPOINT_URL_SSM: stores.ssm.endpoint, AWS_ENDPOINT_URL_KMS: kmsEndpoint, NODE_EXTRA_CA_CERTS: caFile };
    // Asynchronously: the KMS simulator runs in this process and must keep answering.
    const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: REPO, env });
    const out = JSON.parse(stdout) as { store: string; name: string; version: string };
    const shown = JSON.parse(expected.replace(/^# /, '')) as { store: string; name: string; version: string };
    expect(Object.keys(out)).toEqual(Object.keys(shown));
    expect(out).toMatchObject({ store: shown.store, name: SSM_NAME, version: expect.stringMatching(/^\d+$/) });
    const picked = await until('the version put by the docs block', async () => {
      const r = await mac(SSM_NAME, 'docs');
      return r.version === out.version ? r : undefined;
    });
    expect(picked.mac).toBe(hmac(Buffer.from(value), 'docs'));
  });

  it("the app's own bundle is also its worker pool's program: the workers start from it and stay up", async () => {
    // The pool starts the running bundle's file on each thread; this bundle's entry is the app's,
    // which calls runEnclave: there it must become the pool worker (enclave/run.ts), or the
    // workers die at start and the enclave ends with a fatal line.
    const { startedSize, ready, failures } = await whenWorkersReady(() => stack.enclaveOutput());
    expect(startedSize).toBeGreaterThan(0);
    expect(ready).toBe(startedSize);
    expect(failures).toEqual([]);
    expect((await fetch(`${stack.parentUrl}/readyz`)).status).toBe(200);
    expect(stack.enclave().exitCode).toBeNull();
  });

  it('an unknown secret name is a typed error, not a crash', async () => {
    const res = await stack.api('/v1/test/secret-mac', { method: 'POST', body: JSON.stringify({ name: 'enclavekit/e2e/not-configured', message: 'x' }) });
    expect(res.status).toBe(500);
    expect(res.json.error.code).toBe('ERR_SECRET_UNKNOWN');
    expect(stack.enclave().exitCode).toBeNull();
  });

  it('no plaintext version, raw, hex or base64, in anything the parent handled, nor in either log', async () => {
    expect(Object.keys(plaintexts)).toHaveLength(5);
    const view = { ...parentView(stack), 'the enclave output': stack.enclaveOutput() };
    expect(findLeaks(view, plaintexts)).toEqual([]);
    // The tunnels carry TLS: not even the stored ciphertext crosses them in the clear.
    const { ssm } = await storeClientsFor(stack, stack.principal('admin'));
    try {
      const stored = (await ssm.send(new GetParameterCommand({ Name: SSM_NAME }))).Parameter!.Value!;
      expect(stack.taps.tunnel.bytes().includes(Buffer.from(stored.slice(0, 64)))).toBe(false);
      expect(stack.taps.ssm.bytes().includes(Buffer.from(stored.slice(0, 64)))).toBe(false);
    } finally {
      ssm.destroy();
    }
    // And the enclave did reach both stores through the parent.
    expect(stack.taps.ssm.bytes().length).toBeGreaterThan(0);
    expect(stack.taps.secretsManager.bytes().length).toBeGreaterThan(0);
  });
});
