/**
 * The Secrets Manager simulator driven with the unmodified @aws-sdk/client-secrets-manager: versions
 * and staging labels, describe and list, deletion with a recovery window, restore, purge, a
 * customer-key secret the parent cannot decrypt, and durability.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { secretsStatePath } from '../../sim/secrets-manager/index.js';
import { NOBODY, PARENT, failure, startStores, type StoresHarness } from '../ssm/harness.js';

const DAY = 86_400_000;
/** Added to the simulators' clock, so a recovery window passes without waiting. */
let skip = 0;
let h: StoresHarness;

beforeAll(async () => {
  h = await startStores({ now: () => Date.now() + skip });
});
afterAll(async () => {
  await h.close();
});


const token = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('versions and staging labels', () => {
  it('moves AWSCURRENT to each new value and AWSPREVIOUS to the one before', async () => {
    const sm = h.smClient();
    const created = await sm.send(new CreateSecretCommand({ Name: 'prod/db', SecretString: 'v1', ClientRequestToken: token(1) }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:111122223333:secret:prod\/db-[A-Za-z0-9]{6}$/);
    expect(created.VersionId).toBe(token(1));
    expect(await sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'v2', ClientRequestToken: token(2) }))).toMatchObject({ VersionStages: ['AWSCURRENT'] });
    const current = await sm.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    expect(current).toMatchObject({ SecretString: 'v2', VersionId: token(2), VersionStages: ['AWSCURRENT'], Name: 'prod/db', ARN: created.ARN });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('v1');
    expect((await sm.send(new GetSecretValueCommand({ SecretId: created.ARN!, VersionId: token(1) }))).SecretString).toBe('v1');
    // A partial ARN (without the random suffix) names the secret too.
    expect((await sm.send(new GetSecretValueCommand({ SecretId: created.ARN!.slice(0, -7) }))).SecretString).toBe('v2');
    const wrong = await failure(sm.send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionId: token(1), VersionStage: 'AWSCURRENT' })));
    expect(wrong.name).toBe('InvalidRequestException');
  });

  it('stages AWSPENDING and promotes it only with RemoveFromVersionId naming the current version', async () => {
    const sm = h.smClient();
    await sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'v3', ClientRequestToken: token(3), VersionStages: ['AWSPENDING'] }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'prod/db' }))).SecretString).toBe('v2');
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPENDING' }))).SecretString).toBe('v3');
    const bare = await failure(sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'prod/db', VersionStage: 'AWSCURRENT', MoveToVersionId: token(3) })));
    expect(bare.name).toBe('InvalidParameterException');
    expect(bare.message).toMatch(/currently attached to version 00000000-0000-4000-8000-000000000002/);
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'prod/db', VersionStage: 'AWSCURRENT', MoveToVersionId: token(3), RemoveFromVersionId: token(2) }));
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'prod/db' }));
    expect(described.VersionIdsToStages).toEqual({ [token(2)]: ['AWSPREVIOUS'], [token(3)]: ['AWSPENDING', 'AWSCURRENT'] });
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'prod/db', VersionStage: 'AWSPENDING', RemoveFromVersionId: token(3) }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'prod/db' }))).VersionIdsToStages).toEqual({ [token(2)]: ['AWSPREVIOUS'], [token(3)]: ['AWSCURRENT'] });
  });

  it('answers a retried PutSecretValue again and refuses the same token with another value', async () => {
    const sm = h.smClient();
    const first = await sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'v4', ClientRequestToken: token(4) }));
    const retry = await sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'v4', ClientRequestToken: token(4) }));
    expect(retry.VersionId).toBe(first.VersionId);
    expect((await failure(sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'other', ClientRequestToken: token(4) })))).name).toBe('ResourceExistsException');
  });

  it('stores SecretBinary and refuses both kinds at once and a second secret of the same name', async () => {
    const sm = h.smClient();
    await sm.send(new CreateSecretCommand({ Name: 'bin', SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
    expect([...(await sm.send(new GetSecretValueCommand({ SecretId: 'bin' }))).SecretBinary!]).toEqual([0, 1, 2, 255]);
    expect((await failure(sm.send(new CreateSecretCommand({ Name: 'both', SecretString: 'a', SecretBinary: new Uint8Array([1]) })))).name).toBe('InvalidParameterException');
    expect((await failure(sm.send(new CreateSecretCommand({ Name: 'bin', SecretString: 'x' })))).name).toBe('ResourceExistsException');
    expect((await failure(sm.send(new CreateSecretCommand({ Name: 'big', SecretString: 'x'.repeat(65_537) })))).name).toBe('ValidationException');
    expect((await failure(sm.send(new GetSecretValueCommand({ SecretId: 'absent' })))).name).toBe('ResourceNotFoundException');
  });
});

describe('ListSecrets', () => {
  it('filters by name prefix and pages', async () => {
    const sm = h.smClient();
    for (const n of ['list/a', 'list/b', 'list/c']) await sm.send(new CreateSecretCommand({ Name: n, SecretString: n }));
    const names: string[] = [];
    let next: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await sm.send(new ListSecretsCommand({ MaxResults: 2, NextToken: next, Filters: [{ Key: 'name', Values: ['list/'] }] }));
      names.push(...out.SecretList!.map((s) => s.Name!));
      next = out.NextToken;
      if (next === undefined) break;
    }
    expect(names).toEqual(['list/a', 'list/b', 'list/c']);
  });
});

describe('a secret under a customer key, against the parent', () => {
  const VALUE = 'processor-api-key-91c2';
  let keyArn: string;
  let arn: string;

  beforeAll(async () => {
    keyArn = (await h.kmsClient().send(new CreateKeyCommand({ Description: 'secrets' }))).KeyMetadata!.Arn!;
    arn = (await h.smClient().send(new CreateSecretCommand({ Name: 'sealed', SecretString: VALUE, KmsKeyId: keyArn, ClientRequestToken: token(9) }))).ARN!;
  });

  it('keeps only KMS ciphertext at rest, bound to SecretARN and SecretVersionId', async () => {
    const text = await readFile(secretsStatePath(h.dir), 'utf8');
    expect(text).not.toContain(VALUE);
    const state = JSON.parse(text) as { secrets: Record<string, { versions: { value: string }[] }> };
    const blob = Buffer.from(state.secrets[arn]!.versions[0]!.value, 'base64');
    const kms = h.kmsClient();
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { SecretARN: arn, SecretVersionId: token(9) } }));
    expect(Buffer.from(opened.Plaintext!).toString('utf8')).toBe(VALUE);
    expect((await failure(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { SecretARN: arn, SecretVersionId: token(8) } })))).name).toBe('InvalidCiphertextException');
  });

  it('refuses GetSecretValue to the parent (no unattested kms:Decrypt) and to a principal without IAM permission', async () => {
    const parent = await failure(h.smClient(PARENT).send(new GetSecretValueCommand({ SecretId: 'sealed' })));
    expect(parent.name).toBe('AccessDeniedException');
    expect(parent.message).toBe(`User: ${PARENT.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`);
    const nobody = await failure(h.smClient(NOBODY).send(new GetSecretValueCommand({ SecretId: 'sealed' })));
    expect(nobody.message).toBe(`User: ${NOBODY.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${arn} because no identity-based policy allows the secretsmanager:GetSecretValue action`);
    expect((await h.smClient().send(new GetSecretValueCommand({ SecretId: 'sealed' }))).SecretString).toBe(VALUE);
  });

  it('keeps secrets and versions across a restart', async () => {
    await h.restart();
    expect((await h.smClient().send(new GetSecretValueCommand({ SecretId: 'prod/db', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('v3');
    expect((await h.smClient().send(new GetSecretValueCommand({ SecretId: 'sealed' }))).SecretString).toBe(VALUE);
  });
});

describe('DeleteSecret and RestoreSecret', () => {
  it('schedules deletion, refuses reads in the window, restores, and purges after the window', async () => {
    const sm = h.smClient();
    await sm.send(new CreateSecretCommand({ Name: 'temp', SecretString: 't' }));
    const bad = await failure(sm.send(new DeleteSecretCommand({ SecretId: 'temp', RecoveryWindowInDays: 6 })));
    expect(bad.name).toBe('InvalidParameterException');
    const both = await failure(sm.send(new DeleteSecretCommand({ SecretId: 'temp', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })));
    expect(both.message).toMatch(/ForceDeleteWithoutRecovery/);
    const deleted = await sm.send(new DeleteSecretCommand({ SecretId: 'temp', RecoveryWindowInDays: 7 }));
    const window = deleted.DeletionDate!.getTime() - Date.now() - skip;
    expect(window).toBeGreaterThan(7 * DAY - 60_000);
    expect(window).toBeLessThanOrEqual(7 * DAY);
    expect((await failure(sm.send(new GetSecretValueCommand({ SecretId: 'temp' })))).name).toBe('InvalidRequestException');
    expect((await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['temp'] }] }))).SecretList).toEqual([]);
    expect((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: ['temp'] }] }))).SecretList!.length).toBe(1);
    await sm.send(new RestoreSecretCommand({ SecretId: 'temp' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'temp' }))).SecretString).toBe('t');
    await sm.send(new DeleteSecretCommand({ SecretId: 'temp', RecoveryWindowInDays: 7 }));
    skip += 7 * DAY + 1000;
    const later = h.smClient();
    expect((await failure(later.send(new DescribeSecretCommand({ SecretId: 'temp' })))).name).toBe('ResourceNotFoundException');
    // The name is free again, under a new ARN.
    expect((await later.send(new CreateSecretCommand({ Name: 'temp', SecretString: 'new' }))).Name).toBe('temp');
  });

  it('deletes at once with ForceDeleteWithoutRecovery', async () => {
    const sm = h.smClient();
    await sm.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'g' }));
    await sm.send(new DeleteSecretCommand({ SecretId: 'gone', ForceDeleteWithoutRecovery: true }));
    expect((await failure(sm.send(new GetSecretValueCommand({ SecretId: 'gone' })))).name).toBe('ResourceNotFoundException');
  });
});
