/**
 * The enclave's sealed-secret store (enclave/secrets/sealed-secrets.ts) with a fake store and a
 * fake opener: versions, rotation, retirement with zeroing, unknown names, poll failures that keep
 * the old value, and the opener's exact KMS request (enclave/secrets/open-secret.ts).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { openSealedSecret } from '../../enclave/secrets/open-secret.js';
import { MAX_PREVIOUS_VERSIONS, SealedSecrets } from '../../enclave/secrets/sealed-secrets.js';
import { createStoreSource, type SecretItem, type StoredSecret } from '../../enclave/secrets/store-source.js';
import { DecryptionFailedError, ServiceError } from '../../shared/errors.js';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const OTHER_KEY = 'arn:aws:kms:us-east-1:111122223333:key/99999999-2222-3333-4444-555555555555';
const ITEMS: SecretItem[] = [
  { store: 'ssm', name: '/enclavekit/test/hmac' },
  { store: 'secretsmanager', name: 'enclavekit/test/api' },
];

/** A fake store: a map of name → {version, value}; `failing` names throw a typed store error. */
function fakeWorld(options: { maxStaleMs?: number } = {}) {
  const stored = new Map<string, StoredSecret>();
  const failing = new Set<string>();
  const opened: Uint8Array[] = [];
  const logs: { event: string; fields: Record<string, unknown> }[] = [];
  let now = 1_000_000;
  let reads = 0;
  const secrets = new SealedSecrets({
    items: ITEMS,
    source: {
      async read(item) {
        reads += 1;
        if (failing.has(item.name)) throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetParameter failed: ThrottlingException');
        const s = stored.get(item.name);
        if (s === undefined) throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetParameter failed: ParameterNotFound');
        return s;
      },
      destroy: () => undefined,
    },
    // The "ciphertext" here is the plaintext prefixed with "sealed:"; anything else fails as KMS would.
    open: async (_item, value) => {
      if (!value.startsWith('sealed:')) throw new DecryptionFailedError();
      const bytes = new Uint8Array(Buffer.from(value.slice('sealed:'.length)));
      opened.push(bytes);
      return bytes;
    },
    pollIntervalMs: 60_000,
    retireAfterMs: 10_000,
    ...options,
    now: () => now,
    log: (event, fields) => void logs.push({ event, fields }),
  });
  return {
    secrets,
    stored,
    failing,
    opened,
    logs,
    advance: (ms: number) => void (now += ms),
    reads: () => reads,
    put: (name: string, version: string, plaintext: string) => stored.set(name, { version, value: `sealed:${plaintext}` }),
  };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('sealed secrets: load, rotate, retire', () => {
  it('is not loaded until every configured secret is, and says which one failed with its code', async () => {
    const w = fakeWorld();
    expect(w.secrets.loaded()).toBe(false);
    expect(w.secrets.reason()).toBe('waiting for secrets');
    w.put('/enclavekit/test/hmac', '1', 'hmac-key-v1');
    await w.secrets.poll();
    expect(w.secrets.loaded()).toBe(false);
    expect(w.secrets.reason()).toBe('secret enclavekit/test/api failed to load (ERR_SECRET_UNAVAILABLE)');
    expect(() => w.secrets.use('enclavekit/test/api', text)).toThrowError(expect.objectContaining({ code: 'ERR_NOT_READY' }));
    w.put('enclavekit/test/api', 'v-a', 'api-token-a');
    await w.secrets.poll();
    expect(w.secrets.loaded()).toBe(true);
    expect(w.secrets.reason()).toBeUndefined();
    expect(w.secrets.use('/enclavekit/test/hmac', text)).toBe('hmac-key-v1');
    expect(w.secrets.use('enclavekit/test/api', (value, version) => `${text(value)}@${version}`)).toBe('api-token-a@v-a');
    expect(w.logs.filter((l) => l.event === 'secret-loaded').map((l) => l.fields)).toEqual([
      { name: '/enclavekit/test/hmac', store: 'ssm', version: '1' },
      { name: 'enclavekit/test/api', store: 'secretsmanager', version: 'v-a' },
    ]);
    await w.secrets.close();
  });

  it('an unchanged version is not opened again', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    await w.secrets.poll();
    expect(w.opened).toHaveLength(2);
    expect(w.reads()).toBe(4);
    await w.secrets.close();
  });

  it('a new version becomes current; the old one keeps verifying until retireAfterMs, then is zeroed and dropped', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    const v1 = w.opened[0]!;
    w.put('/enclavekit/test/hmac', '2', 'k2');
    await w.secrets.poll();
    expect(w.secrets.use('/enclavekit/test/hmac', text)).toBe('k2');
    expect(w.secrets.versions('/enclavekit/test/hmac')).toEqual(['2', '1']);
    expect(w.secrets.useEach('/enclavekit/test/hmac', (v, version) => `${version}:${text(v)}`)).toEqual(['2:k2', '1:k1']);
    expect(w.logs.find((l) => l.event === 'secret-rotated')?.fields).toEqual({ name: '/enclavekit/test/hmac', store: 'ssm', version: '2', previousVersion: '1' });

    w.advance(9_999);
    expect(w.secrets.versions('/enclavekit/test/hmac')).toEqual(['2', '1']);
    expect(text(v1)).toBe('k1');
    w.advance(1);
    // Retired on use, without waiting for the next poll.
    expect(w.secrets.versions('/enclavekit/test/hmac')).toEqual(['2']);
    expect(v1.every((b) => b === 0)).toBe(true);
    expect(w.logs.find((l) => l.event === 'secret-retired')?.fields).toEqual({ name: '/enclavekit/test/hmac', store: 'ssm', version: '1' });
    expect(w.secrets.stats()).toEqual({ loads: 3, rotations: 1, retirements: 1, failures: 0, lastReadAgeMs: { '/enclavekit/test/hmac': 10_000, 'enclavekit/test/api': 10_000 } });
    await w.secrets.close();
  });

  it('a failed poll keeps the current value and logs the code (never the value)', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    w.failing.add('/enclavekit/test/hmac');
    w.stored.set('enclavekit/test/api', { version: 'v-b', value: 'not-openable' });
    await w.secrets.poll();
    expect(w.secrets.loaded()).toBe(true);
    expect(w.secrets.use('/enclavekit/test/hmac', text)).toBe('k1');
    expect(w.secrets.use('enclavekit/test/api', (_v, version) => version)).toBe('v-a');
    const failures = w.logs.filter((l) => l.event === 'secret-poll-failed').map((l) => l.fields);
    expect(failures).toEqual([
      { name: '/enclavekit/test/hmac', store: 'ssm', code: 'ERR_SECRET_UNAVAILABLE' },
      { name: 'enclavekit/test/api', store: 'secretsmanager', code: 'ERR_DECRYPT_FAILED' },
    ]);
    expect(JSON.stringify(w.logs)).not.toContain('k1');
    await w.secrets.close();
  });

  it('an unknown name is a typed error, for use, useEach and versions', async () => {
    const w = fakeWorld();
    for (const call of [() => w.secrets.use('nope', text), () => w.secrets.useEach('nope', text), () => w.secrets.versions('nope')]) {
      expect(call).toThrowError(expect.objectContaining({ code: 'ERR_SECRET_UNKNOWN' }));
    }
    await w.secrets.close();
  });

  it('close zeroes every version, current and replaced, and forgets them', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    w.put('/enclavekit/test/hmac', '2', 'k2');
    await w.secrets.poll();
    await w.secrets.close();
    expect(w.opened).toHaveLength(3);
    for (const value of w.opened) expect(value.every((b) => b === 0)).toBe(true);
    expect(() => w.secrets.use('/enclavekit/test/hmac', text)).toThrowError(expect.objectContaining({ code: 'ERR_NOT_READY' }));
  });

  it('one poll at a time: concurrent calls share the pass', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    const a = w.secrets.poll();
    const b = w.secrets.poll();
    expect(a).toBe(b);
    await a;
    expect(w.reads()).toBe(2);
    await w.secrets.close();
  });
});

describe('sealed secrets: what a parent relaying the store traffic can and cannot do', () => {
  it('refuses an SSM version lower than the loaded one (rollback), keeping the value; compares numbers, not strings', async () => {
    const w = fakeWorld();
    w.put('/enclavekit/test/hmac', '9', 'k9');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    w.put('/enclavekit/test/hmac', '10', 'k10');
    await w.secrets.poll();
    expect(w.secrets.use('/enclavekit/test/hmac', text)).toBe('k10');
    w.put('/enclavekit/test/hmac', '9', 'k9');
    await w.secrets.poll();
    expect(w.secrets.use('/enclavekit/test/hmac', (v, version) => `${version}:${text(v)}`)).toBe('10:k10');
    expect(w.opened).toHaveLength(3);
    expect(w.logs.filter((l) => l.event === 'secret-poll-failed').map((l) => l.fields)).toEqual([{ name: '/enclavekit/test/hmac', store: 'ssm', code: 'ERR_SECRET_UNAVAILABLE' }]);
    await w.secrets.close();
  });

  it(`keeps at most ${MAX_PREVIOUS_VERSIONS} replaced versions: six rotations retire and zero the oldest two early`, async () => {
    const w = fakeWorld();
    w.put('enclavekit/test/api', 'v-a', 'a');
    for (let v = 1; v <= 7; v += 1) {
      w.put('/enclavekit/test/hmac', String(v), `k${v}`);
      await w.secrets.poll();
    }
    expect(w.secrets.versions('/enclavekit/test/hmac')).toEqual(['7', '6', '5', '4', '3']);
    const hmacValues = w.opened.filter((_v, i) => i !== 1); // opened[1] is the api secret
    expect(hmacValues.map((v) => v.every((b) => b === 0))).toEqual([true, true, false, false, false, false, false]);
    expect(w.logs.filter((l) => l.event === 'secret-retired').map((l) => l.fields.version)).toEqual(['1', '2']);
    expect(w.secrets.stats()).toMatchObject({ rotations: 6, retirements: 2 });
    await w.secrets.close();
  });

  it('reports the age of each secret\'s last accepted read, growing while reads fail (a frozen secret)', async () => {
    const w = fakeWorld();
    expect(w.secrets.stats().lastReadAgeMs).toEqual({ '/enclavekit/test/hmac': null, 'enclavekit/test/api': null });
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    w.advance(5_000);
    await w.secrets.poll();
    w.failing.add('/enclavekit/test/hmac');
    w.advance(70_000);
    await w.secrets.poll();
    w.advance(1_000);
    expect(w.secrets.stats().lastReadAgeMs).toEqual({ '/enclavekit/test/hmac': 71_000, 'enclavekit/test/api': 1_000 });
    expect(w.secrets.reason()).toBeUndefined();
    await w.secrets.close();
  });

  it('with maxStaleMs, a secret not read for longer makes the enclave not ready, naming it; a good read clears it', async () => {
    const w = fakeWorld({ maxStaleMs: 120_000 });
    w.put('/enclavekit/test/hmac', '1', 'k1');
    w.put('enclavekit/test/api', 'v-a', 'a');
    await w.secrets.poll();
    w.failing.add('enclavekit/test/api');
    w.advance(120_000);
    await w.secrets.poll();
    expect(w.secrets.reason()).toBeUndefined();
    w.advance(1);
    expect(w.secrets.reason()).toBe('secret enclavekit/test/api stale');
    w.failing.delete('enclavekit/test/api');
    await w.secrets.poll();
    expect(w.secrets.reason()).toBeUndefined();
    await w.secrets.close();
  });
});

describe('store source: the answer must name the secret in the account and Region of secrets.keyArn', () => {
  // The SDK clients' send is replaced: these tests are about what the source accepts, not the wire.
  afterEach(() => void vi.restoreAllMocks());
  const config = parseEnclaveConfig({ kms: { region: 'us-east-1' }, secrets: { keyArn: KEY, items: ITEMS } });
  const source = () =>
    createStoreSource(
      config,
      () => expect.fail('no tunnel in these tests'),
      async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' }) as never,
    );
  const ssmAnswers = (arn: string) =>
    vi.spyOn(SSMClient.prototype, 'send').mockImplementation(async (command: unknown) => {
      expect(command).toBeInstanceOf(GetParameterCommand);
      return { Parameter: { Name: 'ignored', Value: 'c2VhbGVk', Version: 3, ARN: arn } } as never;
    });
  const smAnswers = (arn: string, name: string) =>
    vi.spyOn(SecretsManagerClient.prototype, 'send').mockImplementation(async (command: unknown) => {
      expect(command).toBeInstanceOf(GetSecretValueCommand);
      return { ARN: arn, Name: name, VersionId: 'v-1', SecretString: 'c2VhbGVk' } as never;
    });

  it.each([
    ['/enclavekit/test/hmac', 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit/test/hmac'],
    ['enclavekit-plain', 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit-plain'],
  ])('accepts SSM %s answered as %s', async (name, arn) => {
    ssmAnswers(arn);
    const s = source();
    await expect(s.read({ store: 'ssm', name })).resolves.toEqual({ version: '3', value: 'c2VhbGVk' });
    s.destroy();
  });

  it.each([
    ['another account (the parent\'s own)', 'arn:aws:ssm:us-east-1:444455556666:parameter/enclavekit/test/hmac'],
    ['another Region', 'arn:aws:ssm:eu-west-1:111122223333:parameter/enclavekit/test/hmac'],
    ['another partition', 'arn:aws-cn:ssm:us-east-1:111122223333:parameter/enclavekit/test/hmac'],
    ['another name', 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit/test/hmac-old'],
    ['a doubled slash', 'arn:aws:ssm:us-east-1:111122223333:parameter//enclavekit/test/hmac'],
    ['no ARN', ''],
  ])('refuses an SSM answer from %s', async (_what, arn) => {
    ssmAnswers(arn);
    const s = source();
    await expect(s.read({ store: 'ssm', name: '/enclavekit/test/hmac' })).rejects.toMatchObject({ code: 'ERR_SECRET_UNAVAILABLE', message: expect.stringContaining('Parameter.ARN') });
    s.destroy();
  });

  it('accepts a Secrets Manager answer with the ARN secret:NAME-xxxxxx and Name', async () => {
    smAnswers('arn:aws:secretsmanager:us-east-1:111122223333:secret:enclavekit/test/api-AbC123', 'enclavekit/test/api');
    const s = source();
    await expect(s.read({ store: 'secretsmanager', name: 'enclavekit/test/api' })).resolves.toEqual({ version: 'v-1', value: 'c2VhbGVk' });
    s.destroy();
  });

  it.each([
    ['another account (the parent\'s own)', 'arn:aws:secretsmanager:us-east-1:444455556666:secret:enclavekit/test/api-AbC123', 'enclavekit/test/api'],
    ['another Region', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:enclavekit/test/api-AbC123', 'enclavekit/test/api'],
    ['a longer name with the same start', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:enclavekit/test/api-old-AbC123', 'enclavekit/test/api'],
    ['another Name', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:enclavekit/test/api-AbC123', 'enclavekit/test/api-old'],
  ])('refuses a Secrets Manager answer from %s', async (_what, arn, name) => {
    smAnswers(arn, name);
    const s = source();
    await expect(s.read({ store: 'secretsmanager', name: 'enclavekit/test/api' })).rejects.toMatchObject({ code: 'ERR_SECRET_UNAVAILABLE', message: expect.stringContaining('GetSecretValue answered with an ARN or Name') });
    s.destroy();
  });

  it('a foreign answer during polling keeps the loaded value and logs secret-poll-failed with the code', async () => {
    let arn = 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit/test/hmac';
    vi.spyOn(SSMClient.prototype, 'send').mockImplementation(async () => ({ Parameter: { Value: 'c2VhbGVk', Version: arn.includes('111122223333') ? 3 : 4, ARN: arn } }) as never);
    const logs: { event: string; fields: Record<string, unknown> }[] = [];
    const secrets = new SealedSecrets({
      items: [ITEMS[0]!],
      source: source(),
      open: async (_item, stored) => new Uint8Array(Buffer.from(stored, 'base64')),
      pollIntervalMs: 60_000,
      retireAfterMs: 10_000,
      log: (event, fields) => void logs.push({ event, fields }),
    });
    await secrets.poll();
    arn = 'arn:aws:ssm:us-east-1:444455556666:parameter/enclavekit/test/hmac';
    await secrets.poll();
    expect(secrets.use('/enclavekit/test/hmac', (value, version) => `${version}:${text(value)}`)).toBe('3:sealed');
    expect(logs.filter((l) => l.event === 'secret-poll-failed').map((l) => l.fields)).toEqual([{ name: '/enclavekit/test/hmac', store: 'ssm', code: 'ERR_SECRET_UNAVAILABLE' }]);
    await secrets.close();
  });
});

describe('openSealedSecret: the exact KMS request', () => {
  const item: SecretItem = { store: 'ssm', name: '/enclavekit/test/hmac' };
  const blob = Buffer.from('kms-ciphertext-blob');

  it('decrypts under secrets.keyArn with {purpose, store, name}, uncached', async () => {
    const calls: unknown[] = [];
    const kms = { decrypt: async (input: unknown, options: unknown) => (calls.push([input, options]), { KeyId: KEY, Plaintext: new Uint8Array([1, 2, 3]) }) };
    const value = await openSealedSecret(kms as never, KEY, item, `${blob.toString('base64')}\n`);
    expect([...value]).toEqual([1, 2, 3]);
    expect(calls).toEqual([[{ CiphertextBlob: new Uint8Array(blob), KeyId: KEY, EncryptionContext: { purpose: 'secret', store: 'ssm', name: '/enclavekit/test/hmac' } }, { cache: false }]]);
  });

  it('refuses an answer under another key, zeroing the plaintext', async () => {
    const plaintext = new Uint8Array([7, 7, 7]);
    const kms = { decrypt: async () => ({ KeyId: OTHER_KEY, Plaintext: plaintext }) };
    await expect(openSealedSecret(kms as never, KEY, item, blob.toString('base64'))).rejects.toMatchObject({ code: 'ERR_KMS_REJECTED' });
    expect(plaintext.every((b) => b === 0)).toBe(true);
  });

  it('refuses a stored value that is not base64 before calling KMS', async () => {
    const kms = { decrypt: async () => expect.fail('KMS must not be called') };
    for (const bad of ['', 'plain text secret', 'abc']) {
      await expect(openSealedSecret(kms as never, KEY, item, bad)).rejects.toMatchObject({ code: 'ERR_SEALED_INPUT_MALFORMED' });
    }
  });
});

describe('enclave config: secrets', () => {
  const base = { kms: { region: 'us-east-1' }, cards: { cardKeyArn: OTHER_KEY } };
  const secrets = (extra: Record<string, unknown> = {}) => ({ keyArn: KEY, items: ITEMS, ...extra });

  it('fills the defaults', () => {
    const config = parseEnclaveConfig({ ...base, secrets: secrets() });
    expect(config.secrets).toEqual({ keyArn: KEY, ssm: {}, secretsManager: {}, pollIntervalMs: 60_000, retireAfterMs: 86_400_000, items: ITEMS });
  });

  it.each([
    ['the card key', { keyArn: OTHER_KEY }, 'secrets.keyArn'],
    ['a poll interval under 1 s', { pollIntervalMs: 999 }, 'secrets.pollIntervalMs'],
    ['no items', { items: [] }, 'secrets.items'],
    ['33 items', { items: Array.from({ length: 33 }, (_, i) => ({ store: 'ssm', name: `/s${i}` })) }, 'secrets.items'],
    ['a name twice', { items: [{ store: 'ssm', name: 'a' }, { store: 'secretsmanager', name: 'a' }] }, 'secrets.items'],
    ['an unknown store', { items: [{ store: 's3', name: 'a' }] }, 'secrets.items'],
    ['an unknown field', { rotate: true }, 'secrets'],
    ['a maxStaleMs not above the poll interval', { maxStaleMs: 60_000 }, 'secrets.maxStaleMs'],
  ])('refuses %s', (_what, extra, field) => {
    expect(() => parseEnclaveConfig({ ...base, secrets: secrets(extra) })).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining(field) }));
  });
});
