/**
 * `enclavekit secrets put` as a child process against the KMS, Parameter Store and Secrets Manager
 * simulators (test/ssm/harness.ts): only ciphertext reaches the store, bound to the store and
 * name; the SSM tier follows the stored length (Advanced over 4096 characters, so a full 4096-byte
 * plaintext fits); Secrets Manager gets CreateSecret then PutSecretValue; bad input is a usage
 * error before anything is sent.
 */
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterHistoryCommand } from '@aws-sdk/client-ssm';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extraCaAgent } from '../../cli/extra-ca-agent.js';
import { putSealedSecret } from '../../cli/secrets/put-sealed-secret.js';
import { InputError, ServiceError } from '../../shared/errors.js';
import { ensureBuilt } from '../helpers/built.js';
import { ADMIN, failure, startStores, type StoresHarness } from '../ssm/harness.js';
import { enclavekit } from './run.js';

let h: StoresHarness;
let keyArn = '';

beforeAll(async () => {
  ensureBuilt();
  h = await startStores();
  keyArn = (await h.kmsClient().send(new CreateKeyCommand({ Description: 'internal key' }))).KeyMetadata!.Arn!;
}, 150_000);

afterAll(async () => {
  await h?.close();
});

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
  AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

function put(store: string, name: string, input: Uint8Array | string, extra: string[] = []) {
  const endpoint = store === 'ssm' ? h.ssm.endpoint : h.sm.endpoint;
  return enclavekit(
    ['secrets', 'put', '--store', store, '--name', name, '--key', keyArn, '--region', h.kms.region, '--endpoint', endpoint, '--kms-endpoint', h.kms.endpoint, '--ca-file', h.kms.caFile!, ...extra],
    { input, env: env() },
  );
}

const decrypt = (blob: string, context: Record<string, string>) =>
  h.kmsClient().send(new DecryptCommand({ CiphertextBlob: Buffer.from(blob, 'base64'), EncryptionContext: context }));

describe('enclavekit secrets put', () => {
  it('ssm: stores only the base64 ciphertext under {purpose, store, name}; Standard while it fits, Advanced above 4096 characters', async () => {
    const name = '/enclavekit/test/tiered';
    const small = await put('ssm', name, 'small secret');
    expect(small.stderr).toBe('');
    expect(JSON.parse(small.stdout)).toEqual({ store: 'ssm', name, version: '1' });
    const full = new Uint8Array(4096).fill(0x61);
    const large = await put('ssm', name, full);
    expect(JSON.parse(large.stdout)).toEqual({ store: 'ssm', name, version: '2' });

    const history = (await h.ssmClient().send(new GetParameterHistoryCommand({ Name: name }))).Parameters!;
    expect(history.map((p) => [p.Version, p.Type, p.Tier])).toEqual([
      [1, 'String', 'Standard'],
      [2, 'String', 'Advanced'],
    ]);
    expect(history[0]!.Value!).not.toContain('small secret');
    expect(history[1]!.Value!.length).toBeGreaterThan(4096);
    expect(history[1]!.Value!.length).toBeLessThanOrEqual(8192);
    const context = { purpose: 'secret', store: 'ssm', name };
    expect(Buffer.from((await decrypt(history[0]!.Value!, context)).Plaintext!).toString()).toBe('small secret');
    expect(Buffer.from((await decrypt(history[1]!.Value!, context)).Plaintext!)).toEqual(Buffer.from(full));
    // Bound to its slot: another name or store does not open it.
    for (const other of [{ ...context, name: '/enclavekit/test/other' }, { ...context, store: 'secretsmanager' }, { purpose: 'secret' }]) {
      expect((await failure(decrypt(history[0]!.Value!, other))).name).toBe('InvalidCiphertextException');
    }
  });

  it('secretsmanager: CreateSecret, then PutSecretValue for the next version, each printed', async () => {
    const name = 'enclavekit/test/api';
    const first = JSON.parse((await put('secretsmanager', name, 'v1')).stdout) as { version: string };
    const second = JSON.parse((await put('secretsmanager', name, 'v2')).stdout) as { store: string; name: string; version: string };
    expect(second).toMatchObject({ store: 'secretsmanager', name });
    expect(second.version).not.toBe(first.version);
    const current = await h.smClient().send(new GetSecretValueCommand({ SecretId: name }));
    expect(current.VersionId).toBe(second.version);
    expect(Buffer.from((await decrypt(current.SecretString!, { purpose: 'secret', store: 'secretsmanager', name })).Plaintext!).toString()).toBe('v2');
  });

  it.each([
    ['ssm', 'enclavekit-flat', '/enclavekit/'],
    ['ssm', '/other/test/x', '/enclavekit/'],
    ['secretsmanager', '/enclavekit/test/slash', 'enclavekit/'],
  ] as const)('%s: a name outside the readable prefix (%s) is stored with a one-line warning', async (store, name, prefix) => {
    const run = await put(store, name, 'v');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ store, name });
    expect(run.stderr).toBe(`enclavekit secrets put: warning: --name does not start with ${prefix}; the parent role policy (deploy/iam/parent-instance-role-policy.json) allows reads only under it\n`);
  });

  it.each([
    ['an empty stdin', ['ssm', '/enclavekit/test/empty', ''], /stdin: the secret is empty/],
    ['a plaintext over 4096 bytes', ['ssm', '/enclavekit/test/big', 'x'.repeat(4097)], /stdin: at most 4096 bytes/],
    ['an unknown store', ['s3', '/enclavekit/test/x', 'v'], /--store must be ssm or secretsmanager/],
  ] as const)('refuses %s: exit 2 with the usage, nothing stored', async (_what, [store, name, input], message) => {
    const run = await put(store, name, input);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('usage: enclavekit secrets put');
    expect(run.stdout).toBe('');
  });

  it('a KMS refusal is exit 1 with its code, and nothing is stored', async () => {
    const run = await enclavekit(
      ['secrets', 'put', '--store', 'ssm', '--name', '/enclavekit/test/denied', '--key', keyArn, '--region', h.kms.region, '--endpoint', h.ssm.endpoint, '--kms-endpoint', h.kms.endpoint, '--ca-file', h.kms.caFile!],
      { input: 'v', env: { ...env(), AWS_ACCESS_KEY_ID: 'AKIASTORESNOBODY0001', AWS_SECRET_ACCESS_KEY: 'n'.repeat(40) } },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^enclavekit secrets put: ERR_KMS_ACCESS_DENIED: /);
    expect((await failure(h.ssmClient().send(new GetParameterHistoryCommand({ Name: '/enclavekit/test/denied' })))).name).toBe('ParameterNotFound');
  });
});

describe('putSealedSecret: typed errors', () => {
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
  const kms = (calls: unknown[] = []) => ({ send: async (command: unknown) => (calls.push(command), { CiphertextBlob: new Uint8Array([1, 2, 3]) }) }) as never;
  const answering = (answer: Record<string, unknown>) => ({ send: async () => answer }) as never;

  it.each([
    ['an empty plaintext', 0],
    ['a plaintext over 4096 bytes', 4097],
  ])('refuses %s with an InputError naming the field, before calling KMS', async (_what, size) => {
    const calls: unknown[] = [];
    const error = await putSealedSecret({ kms: kms(calls), store: { name: 'ssm', client: answering({ Version: 1 }) }, secretName: '/enclavekit/x', keyArn: KEY, plaintext: new Uint8Array(size) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ code: 'ERR_BAD_REQUEST', message: expect.stringMatching(/^plaintext: a sealed secret is 1\.\.4096 bytes/) });
    expect(calls).toEqual([]);
  });

  it.each([
    ['PutParameter', { name: 'ssm' as const, client: answering({ Tier: 'Standard' }) }, 'PutParameter answered without Version'],
    ['CreateSecret', { name: 'secretsmanager' as const, client: answering({ ARN: 'arn', Name: 'enclavekit/x' }) }, 'CreateSecret answered without VersionId'],
  ])('refuses a %s answer without a version (never prints "undefined")', async (_op, store, message) => {
    const error = await putSealedSecret({ kms: kms(), store, secretName: 'enclavekit/x', keyArn: KEY, plaintext: new Uint8Array([1]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'ERR_SECRET_UNAVAILABLE', message });
  });
});

describe('--ca-file adds a trust anchor, it does not replace the default roots', () => {
  const extra = '-----BEGIN CERTIFICATE-----\nMIIBextra\n-----END CERTIFICATE-----\n';

  it('the agent trusts every default root and the extra CA', () => {
    const ca = extraCaAgent(Buffer.from(extra)).options.ca as string[];
    expect(ca.at(-1)).toBe(extra);
    expect(ca.slice(0, -1)).toEqual(expect.arrayContaining([...tls.rootCertificates]));
    expect(ca.length).toBeGreaterThan(tls.rootCertificates.length);
  });

  it('without a CA file the agent keeps the defaults (no ca option)', () => {
    expect(extraCaAgent(undefined, { keepAlive: true }).options).not.toHaveProperty('ca');
  });

  it('no CLI code builds its own https.Agent (one helper, so none can drop the roots again)', () => {
    const root = path.resolve(import.meta.dirname, '../../cli');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'extra-ca-agent.ts');
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => /new\s+(https\.)?Agent\(/.test(readFileSync(path.join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
