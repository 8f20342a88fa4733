/**
 * IAM identity policies in the KMS simulator, driven with the unmodified @aws-sdk/client-kms: the
 * default key policy's account-root statement delegates to the caller's IAM policies, a key policy
 * that names the caller needs no IAM allow, an explicit Deny in either policy wins, and operations on
 * no key are decided by IAM alone. Each denial carries AWS's wording for its case.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateRandomCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { startKmsSimulator, type KmsPrincipal, type KmsSimulator } from '../../sim/kms/index.js';
import { ENCLAVE_ROLE_DENY_UNATTESTED } from '../../sim/iam/default-policies.js';
import { credentialsPath, initSimState, loadCredentials } from '../../sim/state.js';
import { kmsClient, kmsError, makeStateDir } from './harness.js';

const ACCOUNT = '111122223333';
const allow = (action: string | string[], resource = '*') => ({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: action, Resource: resource } });
const deny = (action: string | string[]) => ({ Version: '2012-10-17', Statement: { Effect: 'Deny', Action: action, Resource: '*' } });

const admin: KmsPrincipal = { arn: `arn:aws:iam::${ACCOUNT}:role/admin`, accessKeyId: 'AKIAIAMTESTADMIN0001', secretAccessKey: 'a'.repeat(40), identityPolicies: [allow('kms:*')] };
const worker = (identityPolicies: unknown[]): KmsPrincipal =>
  ({ arn: `arn:aws:iam::${ACCOUNT}:role/worker`, accessKeyId: 'AKIAIAMTESTWORKER001', secretAccessKey: 'w'.repeat(40), identityPolicies });

let dir: string;
let keyArn: string;
let namedKeyArn: string;
let blob: Uint8Array;

async function withSim<T>(workerPolicies: unknown[], run: (sim: KmsSimulator) => Promise<T>): Promise<T> {
  const sim = await startKmsSimulator({ stateDir: dir, principals: [admin, worker(workerPolicies)], writeDiscoveryFile: false, silent: true });
  try {
    return await run(sim);
  } finally {
    await sim.close();
  }
}

function denied(action: string, resource: string, tail: string): string {
  return `User: arn:aws:iam::${ACCOUNT}:role/worker is not authorized to perform: ${action} on resource: ${resource} ${tail}`;
}

beforeAll(async () => {
  dir = await makeStateDir('ek-kms-iam-');
  await withSim([], async (sim) => {
    const a = kmsClient(sim, admin);
    keyArn = (await a.send(new CreateKeyCommand({ Description: 'default key policy' }))).KeyMetadata!.Arn!;
    blob = (await a.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('secret') }))).CiphertextBlob!;
    const named = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'Worker', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/worker` }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    });
    namedKeyArn = (await a.send(new CreateKeyCommand({ Policy: named }))).KeyMetadata!.Arn!;
    a.destroy();
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('default key policy (account root delegates to IAM)', () => {
  it('denies a role with no IAM permission, and allows it once its IAM policy allows', async () => {
    await withSim([], async (sim) => {
      const w = kmsClient(sim, worker([]));
      const err = await kmsError(w.send(new DecryptCommand({ CiphertextBlob: blob })));
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toBe(denied('kms:Decrypt', keyArn, 'because no identity-based policy allows the kms:Decrypt action'));
      w.destroy();
    });
    await withSim([allow('kms:Decrypt')], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect(Buffer.from((await w.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('secret');
      // IAM allows Decrypt only: Encrypt is still denied.
      expect((await kmsError(w.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).message)
        .toBe(denied('kms:Encrypt', keyArn, 'because no identity-based policy allows the kms:Encrypt action'));
      w.destroy();
    });
  });

  it('honours the IAM policy Resource: an allow for another key does not reach this one', async () => {
    await withSim([allow('kms:Decrypt', namedKeyArn)], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await kmsError(w.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('AccessDeniedException');
      w.destroy();
    });
  });

  it('lets an explicit Deny in an identity policy win over an Allow', async () => {
    await withSim([allow('kms:*'), deny('kms:Decrypt')], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await kmsError(w.send(new DecryptCommand({ CiphertextBlob: blob })))).message)
        .toBe(denied('kms:Decrypt', keyArn, 'with an explicit deny in an identity-based policy'));
      expect((await w.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))).CiphertextBlob!.length).toBeGreaterThan(0);
      w.destroy();
    });
  });
});

describe('key policy naming the caller', () => {
  it('allows what it names without any IAM policy, and nothing else', async () => {
    await withSim([], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await w.send(new EncryptCommand({ KeyId: namedKeyArn, Plaintext: Buffer.from('x') }))).CiphertextBlob!.length).toBeGreaterThan(0);
      expect((await kmsError(w.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn })))).name).toBe('AccessDeniedException');
      w.destroy();
    });
  });

  it('still yields to an explicit Deny in the caller identity policy', async () => {
    await withSim([deny('kms:Encrypt')], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await kmsError(w.send(new EncryptCommand({ KeyId: namedKeyArn, Plaintext: Buffer.from('x') })))).message)
        .toBe(denied('kms:Encrypt', namedKeyArn, 'with an explicit deny in an identity-based policy'));
      w.destroy();
    });
  });

  it('answers "no resource-based policy" when the key policy neither names nor delegates', async () => {
    await withSim([allow('kms:*')], async (sim) => {
      const a = kmsClient(sim, admin);
      const only = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: admin.arn }, Action: 'kms:*', Resource: '*' }] });
      const arn = (await a.send(new CreateKeyCommand({ Policy: only }))).KeyMetadata!.Arn!;
      const w = kmsClient(sim, worker([]));
      expect((await kmsError(w.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).message)
        .toBe(denied('kms:Encrypt', arn, 'because no resource-based policy allows the kms:Encrypt action'));
      a.destroy();
      w.destroy();
    });
  });
});

describe('operations on no key are decided by IAM alone', () => {
  it('denies CreateKey, ListKeys and GenerateRandom without an IAM allow, on resource *', async () => {
    await withSim([], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await kmsError(w.send(new CreateKeyCommand({})))).message).toBe(denied('kms:CreateKey', '*', 'because no identity-based policy allows the kms:CreateKey action'));
      expect((await kmsError(w.send(new ListKeysCommand({})))).name).toBe('AccessDeniedException');
      expect((await kmsError(w.send(new GenerateRandomCommand({ NumberOfBytes: 8 })))).name).toBe('AccessDeniedException');
      w.destroy();
    });
    await withSim([allow(['kms:ListKeys', 'kms:GenerateRandom'])], async (sim) => {
      const w = kmsClient(sim, worker([]));
      expect((await w.send(new ListKeysCommand({}))).Keys!.length).toBeGreaterThan(0);
      expect((await w.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))).Plaintext!.length).toBe(8);
      expect((await kmsError(w.send(new CreateKeyCommand({})))).name).toBe('AccessDeniedException');
      w.destroy();
    });
  });
});

describe('identity policies in the state directory', () => {
  it('sim init gives role/enclave the deploy/iam deny-unattested policy verbatim', async () => {
    const deployed = JSON.parse(await readFile(join(import.meta.dirname, '../../deploy/iam/parent-instance-role-policy.json'), 'utf8')) as unknown;
    const enclave = (await loadCredentials(dir)).find((p) => p.arn.endsWith(':role/enclave'))!;
    expect(enclave.identityPolicies).toContainEqual(deployed);
    expect(ENCLAVE_ROLE_DENY_UNATTESTED).toEqual(deployed);
  });

  it('sim init adds the default policies to a state written before they existed, keeping the keys', async () => {
    const old = await makeStateDir('ek-kms-iam-old-');
    try {
      const stripped = (await loadCredentials(old)).map(({ arn, accessKeyId, secretAccessKey }) => ({ arn, accessKeyId, secretAccessKey }));
      await writeFile(credentialsPath(old), JSON.stringify(stripped));
      await initSimState(old);
      const again = await loadCredentials(old);
      expect(again.map((p) => p.accessKeyId)).toEqual(stripped.map((p) => p.accessKeyId));
      for (const p of again) expect(p.identityPolicies?.length).toBeGreaterThan(0);
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });

  it('refuses to start with an identity policy that names a Principal (ERR_SIM_STATE)', async () => {
    const bad = worker([{ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } }]);
    await expect(startKmsSimulator({ stateDir: dir, principals: [bad], writeDiscoveryFile: false, silent: true })).rejects.toMatchObject({ code: 'ERR_SIM_STATE' });
  });
});
