/**
 * Every KMS operation of the simulator, through the unmodified @aws-sdk/client-kms over HTTPS.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  DisabledException,
  AlreadyExistsException,
  IncorrectKeyException,
  MalformedPolicyDocumentException,
} from '@aws-sdk/client-kms';
import { kmsError, startHarness, type Harness } from './harness.js';

let h: Harness;
let admin: KMSClient;
let other: KMSClient;
let account: string;

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  other = h.client('client');
  account = h.principal('admin').arn.split(':')[4]!;
});

afterAll(async () => {
  await h.close();
});

async function newKey(description = 'test key', policy?: string): Promise<{ keyId: string; arn: string }> {
  const out = await admin.send(new CreateKeyCommand({ Description: description, ...(policy === undefined ? {} : { Policy: policy }) }));
  return { keyId: out.KeyMetadata!.KeyId!, arn: out.KeyMetadata!.Arn! };
}

describe('CreateKey, DescribeKey, ListKeys', () => {
  it('creates a symmetric key with KMS-shaped metadata and finds it again', async () => {
    const out = await admin.send(new CreateKeyCommand({ Description: 'orders' }));
    const md = out.KeyMetadata!;
    expect(md.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(md.Arn).toBe(`arn:aws:kms:${h.sim.region}:${account}:key/${md.KeyId}`);
    expect(md.AWSAccountId).toBe(account);
    expect(md.KeyState).toBe('Enabled');
    expect(md.Enabled).toBe(true);
    expect(md.KeySpec).toBe('SYMMETRIC_DEFAULT');
    expect(md.KeyUsage).toBe('ENCRYPT_DECRYPT');
    expect(md.EncryptionAlgorithms).toEqual(['SYMMETRIC_DEFAULT']);
    expect(md.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(md.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);

    const byId = await admin.send(new DescribeKeyCommand({ KeyId: md.KeyId }));
    expect(byId.KeyMetadata!.Description).toBe('orders');
    const byArn = await admin.send(new DescribeKeyCommand({ KeyId: md.Arn }));
    expect(byArn.KeyMetadata!.KeyId).toBe(md.KeyId);

    const listed = await admin.send(new ListKeysCommand({}));
    expect(listed.Keys!.map((k) => k.KeyId)).toContain(md.KeyId);
    expect(listed.Keys!.find((k) => k.KeyId === md.KeyId)!.KeyArn).toBe(md.Arn);
  });

  it('pages ListKeys with Limit and Marker', async () => {
    for (let i = 0; i < 3; i++) await newKey(`page ${i}`);
    const all = (await admin.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId!);
    const seen: string[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 50; page++) {
      const out = await admin.send(new ListKeysCommand({ Limit: 2, ...(marker === undefined ? {} : { Marker: marker }) }));
      expect(out.Keys!.length).toBeLessThanOrEqual(2);
      seen.push(...out.Keys!.map((k) => k.KeyId!));
      if (out.Truncated !== true) break;
      marker = out.NextMarker;
    }
    expect(seen.sort()).toEqual([...all].sort());
  });

  it('rejects unknown keys and unsupported key specs as KMS does', async () => {
    const missing = await kmsError(admin.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })));
    expect(missing.name).toBe('NotFoundException');
    expect(missing.status).toBe(400);
    await expect(admin.send(new DescribeKeyCommand({ KeyId: 'alias/nope' }))).rejects.toBeInstanceOf(NotFoundException);
    const sm2 = await kmsError(admin.send(new CreateKeyCommand({ KeySpec: 'SM2', KeyUsage: 'SIGN_VERIFY' })));
    expect(sm2.name).toBe('UnsupportedOperationException');
    const multiRegion = await kmsError(admin.send(new CreateKeyCommand({ MultiRegion: true })));
    expect(multiRegion.name).toBe('UnsupportedOperationException');
  });
});

describe('Encrypt, Decrypt, ReEncrypt', () => {
  it('round-trips with an encryption context and returns the key ARN', async () => {
    const { arn, keyId } = await newKey();
    const plaintext = randomBytes(100);
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { purpose: 'test', tenant: 'a' } }));
    expect(enc.KeyId).toBe(arn);
    expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(enc.CiphertextBlob!.length).toBeLessThanOrEqual(6144);
    expect(Buffer.from(enc.CiphertextBlob!).includes(plaintext)).toBe(false);
    // Member order of the context does not matter.
    const dec = await admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: 'a', purpose: 'test' } }));
    expect(Buffer.from(dec.Plaintext!)).toEqual(plaintext);
    expect(dec.KeyId).toBe(arn);
  });

  it('answers a context mismatch, a missing context or a tampered blob with InvalidCiphertextException', async () => {
    const { keyId } = await newKey();
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: { a: '1' } }));
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '2' } }))).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: '1', b: '2' } }))).rejects.toBeInstanceOf(InvalidCiphertextException);
    for (const offset of [0, 5, 22, 30, 40, enc.CiphertextBlob!.length - 1]) {
      const tampered = Buffer.from(enc.CiphertextBlob!);
      tampered[offset] = tampered[offset]! ^ 0x01;
      const err = await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: { a: '1' } })));
      expect(err.name, `flip at ${offset}`).toBe('InvalidCiphertextException');
    }
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a blob') }))).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it('accepts 4096 bytes and rejects 4097 bytes of plaintext with the KMS ValidationException', async () => {
    const { keyId } = await newKey();
    const ok = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(4096) }));
    expect(ok.CiphertextBlob!.length).toBeLessThanOrEqual(6144);
    const err = await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(4097) })));
    expect(err.name).toBe('ValidationException');
    expect(err.status).toBe(400);
    expect(err.message).toBe("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
  });

  it('checks a KeyId given to Decrypt against the blob (IncorrectKeyException)', async () => {
    const a = await newKey();
    const b = await newKey();
    const enc = await admin.send(new EncryptCommand({ KeyId: a.keyId, Plaintext: Buffer.from('x') }));
    const dec = await admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: a.arn }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('x');
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.keyId }))).rejects.toBeInstanceOf(IncorrectKeyException);
  });

  it('re-encrypts under another key and context', async () => {
    const a = await newKey();
    const b = await newKey();
    const enc = await admin.send(new EncryptCommand({ KeyId: a.keyId, Plaintext: Buffer.from('move me'), EncryptionContext: { from: 'a' } }));
    const re = await admin.send(new ReEncryptCommand({
      CiphertextBlob: enc.CiphertextBlob,
      SourceEncryptionContext: { from: 'a' },
      DestinationKeyId: b.keyId,
      DestinationEncryptionContext: { to: 'b' },
    }));
    expect(re.SourceKeyId).toBe(a.arn);
    expect(re.KeyId).toBe(b.arn);
    const dec = await admin.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { to: 'b' } }));
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('move me');
    expect(dec.KeyId).toBe(b.arn);
    await expect(admin.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.keyId }))).rejects.toBeInstanceOf(InvalidCiphertextException);
  });
});

describe('GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom', () => {
  it('makes data keys by KeySpec or NumberOfBytes whose blob decrypts to the plaintext', async () => {
    const { keyId, arn } = await newKey();
    const dk = await admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { k: 'v' } }));
    expect(dk.Plaintext!.length).toBe(32);
    expect(dk.KeyId).toBe(arn);
    const dec = await admin.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { k: 'v' } }));
    expect(Buffer.from(dec.Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
    expect((await admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_128' }))).Plaintext!.length).toBe(16);
    expect((await admin.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }))).Plaintext!.length).toBe(64);

    const neither = await kmsError(admin.send(new GenerateDataKeyCommand({ KeyId: keyId })));
    expect(neither.name).toBe('ValidationException');
    const both = await kmsError(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', NumberOfBytes: 32 })));
    expect(both.name).toBe('ValidationException');
    const tooMany = await kmsError(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1025 })));
    expect(tooMany.name).toBe('ValidationException');
  });

  it('GenerateDataKeyWithoutPlaintext returns only the blob', async () => {
    const { keyId } = await newKey();
    const out = await admin.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    expect('Plaintext' in out).toBe(false);
    expect(out.CiphertextBlob!.length).toBeGreaterThan(0);
    const dec = await admin.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }));
    expect(dec.Plaintext!.length).toBe(32);
  });

  it('GenerateRandom returns the requested number of distinct bytes', async () => {
    const a = await admin.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }));
    const b = await other.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }));
    expect(a.Plaintext!.length).toBe(1024);
    expect(Buffer.from(a.Plaintext!).equals(Buffer.from(b.Plaintext!))).toBe(false);
    expect((await kmsError(admin.send(new GenerateRandomCommand({ NumberOfBytes: 0 })))).name).toBe('ValidationException');
  });
});

describe('aliases', () => {
  it('resolves keys by alias name and alias ARN; lists, updates and deletes aliases', async () => {
    const a = await newKey();
    const b = await newKey();
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: a.keyId }));
    await expect(admin.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: b.keyId }))).rejects.toBeInstanceOf(AlreadyExistsException);
    const aliasArn = `arn:aws:kms:${h.sim.region}:${account}:alias/orders`;
    expect((await admin.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }))).KeyMetadata!.KeyId).toBe(a.keyId);
    const enc = await admin.send(new EncryptCommand({ KeyId: aliasArn, Plaintext: Buffer.from('via alias') }));
    expect(enc.KeyId).toBe(a.arn);

    const listed = await admin.send(new ListAliasesCommand({ KeyId: a.keyId }));
    expect(listed.Aliases).toHaveLength(1);
    expect(listed.Aliases![0]).toMatchObject({ AliasName: 'alias/orders', AliasArn: aliasArn, TargetKeyId: a.keyId });

    await admin.send(new UpdateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: b.keyId }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }))).KeyMetadata!.KeyId).toBe(b.keyId);
    // The old ciphertext still names key a, whatever the alias points to now.
    expect(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString()).toBe('via alias');

    await admin.send(new DeleteAliasCommand({ AliasName: 'alias/orders' }));
    await expect(admin.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('validates alias names and refuses aliases where the operation takes a key id', async () => {
    const a = await newKey();
    expect((await kmsError(admin.send(new CreateAliasCommand({ AliasName: 'orders', TargetKeyId: a.keyId })))).name).toBe('ValidationException');
    expect((await kmsError(admin.send(new CreateAliasCommand({ AliasName: 'alias/aws/x', TargetKeyId: a.keyId })))).name).toBe('InvalidAliasNameException');
    await admin.send(new CreateAliasCommand({ AliasName: 'alias/strict', TargetKeyId: a.keyId }));
    await expect(admin.send(new DisableKeyCommand({ KeyId: 'alias/strict' }))).rejects.toBeInstanceOf(NotFoundException);
  });
});

describe('key state', () => {
  it('DisableKey stops cryptographic use (DisabledException) until EnableKey', async () => {
    const { keyId } = await newKey();
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    await admin.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Disabled');
    await expect(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).rejects.toBeInstanceOf(DisabledException);
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).rejects.toBeInstanceOf(DisabledException);
    await admin.send(new EnableKeyCommand({ KeyId: keyId }));
    expect(Buffer.from((await admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString()).toBe('x');
  });

  it('ScheduleKeyDeletion puts the key in PendingDeletion (KMSInvalidStateException); CancelKeyDeletion disables it', async () => {
    const { keyId, arn } = await newKey();
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    const out = await admin.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(out.KeyId).toBe(arn);
    expect(out.KeyState).toBe('PendingDeletion');
    expect(out.PendingWindowInDays).toBe(7);
    expect(out.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    await expect(admin.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(admin.send(new EnableKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('PendingDeletion');
    expect((await kmsError(admin.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 })))).name).toBe('ValidationException');
    await admin.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Disabled');
  });
});

describe('rotation', () => {
  it('RotateKeyOnDemand adds key material; old ciphertexts keep decrypting', async () => {
    const { keyId } = await newKey();
    const before = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('v1') }));
    const materialBefore = (await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId;
    await admin.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const after = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('v2') }));
    const materialAfter = (await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CurrentKeyMaterialId;
    expect(materialAfter).not.toBe(materialBefore);
    const old = await admin.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
    expect(Buffer.from(old.Plaintext!).toString()).toBe('v1');
    expect(old.KeyMaterialId).toBe(materialBefore);
    const current = await admin.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob }));
    expect(Buffer.from(current.Plaintext!).toString()).toBe('v2');
    expect(current.KeyMaterialId).toBe(materialAfter);
  });

  it('EnableKeyRotation / GetKeyRotationStatus / DisableKeyRotation', async () => {
    const { keyId } = await newKey();
    expect((await admin.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
    await admin.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const status = await admin.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status.KeyRotationEnabled).toBe(true);
    expect(status.RotationPeriodInDays).toBe(90);
    expect(status.NextRotationDate!.getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect((await kmsError(admin.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 89 })))).name).toBe('ValidationException');
    await admin.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    expect((await admin.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(false);
  });
});

describe('key policies', () => {
  it('gives new keys the default account-root policy and returns it from GetKeyPolicy', async () => {
    const { keyId } = await newKey();
    const out = await admin.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    expect(out.PolicyName).toBe('default');
    const policy = JSON.parse(out.Policy!) as { Statement: { Principal: { AWS: string }; Action: string }[] };
    expect(policy.Statement[0]!.Principal.AWS).toBe(`arn:aws:iam::${account}:root`);
    expect(policy.Statement[0]!.Action).toBe('kms:*');
    // Account root: every principal of the account may use the key.
    const enc = await other.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    expect(enc.CiphertextBlob!.length).toBeGreaterThan(0);
  });

  it('PutKeyPolicy replaces the policy; other principals are then denied with the AWS message', async () => {
    const { keyId, arn } = await newKey();
    const adminArn = h.principal('admin').arn;
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'AdminOnly', Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'kms:*', Resource: '*' }],
    });
    await admin.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy }));
    expect((await admin.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy).toBe(policy);
    const denied = await kmsError(other.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.status).toBe(400);
    expect(denied.message).toBe(
      `User: ${h.principal('client').arn} is not authorized to perform: kms:Encrypt on resource: ${arn} because no resource-based policy allows the kms:Encrypt action`,
    );
  });

  it('refuses malformed policies and policies that would lock the caller out', async () => {
    const { keyId } = await newKey();
    await expect(admin.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: '{"Statement": 1' }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    const lockout = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: h.principal('client').arn }, Action: 'kms:*', Resource: '*' }],
    });
    const err = await kmsError(admin.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout })));
    expect(err.name).toBe('MalformedPolicyDocumentException');
    expect(err.message).toContain('will not allow you to update the key policy');
    await admin.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    expect((await kmsError(admin.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('AccessDeniedException');
  });

  it('evaluates kms:EncryptionContext conditions and explicit denies', async () => {
    const adminArn = h.principal('admin').arn;
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: adminArn }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'TenantA', Effect: 'Allow', Principal: { AWS: h.principal('client').arn }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } },
        },
        {
          Sid: 'NoDebugContext', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Encrypt', Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:debug': 'true' } },
        },
      ],
    });
    const { keyId, arn } = await newKey('ctx', policy);
    const ok = await other.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'a' } }));
    expect(Buffer.from((await other.send(new DecryptCommand({ CiphertextBlob: ok.CiphertextBlob, EncryptionContext: { tenant: 'a' } }))).Plaintext!).toString()).toBe('x');
    expect((await kmsError(other.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'b' } })))).name).toBe('AccessDeniedException');
    const denied = await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { debug: 'true' } })));
    expect(denied.message).toBe(`User: ${adminArn} is not authorized to perform: kms:Encrypt on resource: ${arn} with an explicit deny in a resource-based policy`);
  });
});

describe('DryRun', () => {
  it('answers DryRunOperationException for an allowed request and does nothing', async () => {
    const { keyId } = await newKey();
    expect((await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), DryRun: true })))).name).toBe('DryRunOperationException');
  });
});
