/**
 * SecureString parameters and IAM in the SSM simulator, attacked as the parent would: the value is
 * KMS ciphertext at rest and on a read without decryption; WithDecryption needs the caller's own
 * kms:Decrypt, which the parent's role (deny without attestation) does not have; a principal
 * without ssm permissions is refused with IAM's wording.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import { GetParameterCommand, GetParametersByPathCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { ssmStatePath } from '../../sim/ssm/index.js';
import { ACCOUNT, NOBODY, PARENT, failure, startStores, type StoresHarness } from './harness.js';

const SECRET = 'db-password-7f3a9c';
let h: StoresHarness;
let keyArn: string;

beforeAll(async () => {
  h = await startStores();
  keyArn = (await h.kmsClient().send(new CreateKeyCommand({ Description: 'parameters' }))).KeyMetadata!.Arn!;
  await h.ssmClient().send(new PutParameterCommand({ Name: '/app/prod/db-password', Value: SECRET, Type: 'SecureString', KeyId: keyArn }));
});
afterAll(async () => {
  await h.close();
});

describe('SecureString under a customer key', () => {
  it('returns ciphertext without WithDecryption and the value with it', async () => {
    const ssm = h.ssmClient();
    const raw = (await ssm.send(new GetParameterCommand({ Name: '/app/prod/db-password' }))).Parameter!;
    expect(raw.Type).toBe('SecureString');
    expect(raw.Value).not.toContain(SECRET);
    expect(Buffer.from(raw.Value!, 'base64').includes(Buffer.from(SECRET))).toBe(false);
    expect((await ssm.send(new GetParameterCommand({ Name: '/app/prod/db-password', WithDecryption: true }))).Parameter!.Value).toBe(SECRET);
    const byPath = await ssm.send(new GetParametersByPathCommand({ Path: '/app/prod', WithDecryption: true }));
    expect(byPath.Parameters!.map((p) => p.Value)).toEqual([SECRET]);
  });

  it('never writes the value to the state file', async () => {
    expect(await readFile(ssmStatePath(h.dir), 'utf8')).not.toContain(SECRET);
  });

  it('is a KMS ciphertext bound to PARAMETER_ARN: KMS Decrypt opens it with that context only', async () => {
    const raw = (await h.ssmClient().send(new GetParameterCommand({ Name: '/app/prod/db-password' }))).Parameter!;
    const blob = Buffer.from(raw.Value!, 'base64');
    const kms = h.kmsClient();
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { PARAMETER_ARN: raw.ARN! } }));
    expect(Buffer.from(opened.Plaintext!).toString('utf8')).toBe(SECRET);
    expect(opened.KeyId).toBe(keyArn);
    const moved = await failure(kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { PARAMETER_ARN: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/prod/other` } })));
    expect(moved.name).toBe('InvalidCiphertextException');
  });

  it('gives the parent (ssm:GetParameter, no unattested kms:Decrypt) only ciphertext', async () => {
    const parent = h.ssmClient(PARENT);
    const raw = (await parent.send(new GetParameterCommand({ Name: '/app/prod/db-password' }))).Parameter!;
    expect(raw.Value).not.toContain(SECRET);
    const decrypt = await failure(parent.send(new GetParameterCommand({ Name: '/app/prod/db-password', WithDecryption: true })));
    expect(decrypt.name).toBe('AccessDeniedException');
    expect(decrypt.message).toBe(`User: ${PARENT.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`);
    expect(decrypt.message).not.toContain(SECRET);
    const path = await failure(parent.send(new GetParametersByPathCommand({ Path: '/app', Recursive: true, WithDecryption: true })));
    expect(path.name).toBe('AccessDeniedException');
    // Nor can it put a parameter under the key: its role has no ssm:PutParameter.
    const put = await failure(parent.send(new PutParameterCommand({ Name: '/app/prod/db-password', Value: 'mine', Type: 'SecureString', KeyId: keyArn, Overwrite: true })));
    expect(put.message).toBe(`User: ${PARENT.arn} is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/prod/db-password because no identity-based policy allows the ssm:PutParameter action`);
  });

  it('refuses a principal with no ssm permission, naming the action and the parameter ARN', async () => {
    const nobody = await failure(h.ssmClient(NOBODY).send(new GetParameterCommand({ Name: '/app/prod/db-password' })));
    expect(nobody.name).toBe('AccessDeniedException');
    expect(nobody.message).toMatch(/ssm:GetParameter on resource: arn:aws:ssm:us-east-1:111122223333:parameter\/app\/prod\/db-password because no identity-based policy allows/);
  });

  it('refuses an unknown key (InvalidKeyId) and a KeyId on a String', async () => {
    const ssm = h.ssmClient();
    const unknown = await failure(ssm.send(new PutParameterCommand({ Name: '/k/a', Value: 'v', Type: 'SecureString', KeyId: 'alias/none' })));
    expect(unknown.name).toBe('InvalidKeyId');
    const plain = await failure(ssm.send(new PutParameterCommand({ Name: '/k/b', Value: 'v', Type: 'String', KeyId: keyArn })));
    expect(plain.name).toBe('ValidationException');
  });

  it('models the AWS managed key alias/aws/ssm as no KMS check: anyone with ssm:GetParameter reads it', async () => {
    await h.ssmClient().send(new PutParameterCommand({ Name: '/managed/p', Value: 'managed-value', Type: 'SecureString' }));
    const got = (await h.ssmClient(PARENT).send(new GetParameterCommand({ Name: '/managed/p', WithDecryption: true }))).Parameter!;
    expect(got.Value).toBe('managed-value');
  });
});

describe('/aws/reference/secretsmanager/', () => {
  it('reads a Secrets Manager secret WithDecryption only', async () => {
    const created = await h.smClient().send(new CreateSecretCommand({ Name: 'prod/api-key', SecretString: 'sk-live-1', KmsKeyId: keyArn }));
    const ssm = h.ssmClient();
    const got = (await ssm.send(new GetParameterCommand({ Name: '/aws/reference/secretsmanager/prod/api-key', WithDecryption: true }))).Parameter!;
    expect(got).toMatchObject({ Type: 'SecureString', Value: 'sk-live-1', ARN: created.ARN });
    expect(JSON.parse(got.SourceResult!)).toMatchObject({ Name: 'prod/api-key', ARN: created.ARN });
    const plain = await failure(ssm.send(new GetParameterCommand({ Name: '/aws/reference/secretsmanager/prod/api-key' })));
    expect(plain.message).toBe('WithDecryption flag must be True for retrieving a Secret Manager secret.');
    expect((await failure(ssm.send(new GetParameterCommand({ Name: '/aws/reference/secretsmanager/absent', WithDecryption: true })))).name).toBe('ParameterNotFound');
    // The parent may call GetSecretValue but not decrypt under the key.
    const parent = await failure(h.ssmClient(PARENT).send(new GetParameterCommand({ Name: '/aws/reference/secretsmanager/prod/api-key', WithDecryption: true })));
    expect(parent.name).toBe('AccessDeniedException');
    expect(parent.message).toMatch(/kms:Decrypt/);
  });
});
