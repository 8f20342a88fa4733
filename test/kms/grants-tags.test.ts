/**
 * Grants (CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, grant tokens and
 * constraints), tags (CreateKey Tags, TagResource, UntagResource, ListResourceTags),
 * UpdateKeyDescription and ListKeyPolicies, with the unmodified @aws-sdk/client-kms. The security
 * claims are attacked: a grant constrained to one context does not open another, a retired or
 * revoked grant gives nothing, and a grant never beats an explicit IAM Deny.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { kmsError, startHarness, type Harness } from './harness.js';

let h: Harness;
let admin: KMSClient;
let client: KMSClient;
let enclave: KMSClient;

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  client = h.client('client');
  enclave = h.client('enclave');
});
afterAll(async () => {
  await h.close();
});

async function defaultKey(): Promise<string> {
  return (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
}

describe('tags', () => {
  it('keeps CreateKey Tags, adds, re-values, lists in pages and removes them', async () => {
    const keyId = (await admin.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: 'payments' }] }))).KeyMetadata!.Arn!;
    await admin.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'team', TagValue: 'cards' }] }));
    const first = await admin.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 1 }));
    expect(first.Tags).toEqual([{ TagKey: 'team', TagValue: 'cards' }]);
    expect(first.Truncated).toBe(true);
    const rest = await admin.send(new ListResourceTagsCommand({ KeyId: keyId, Marker: first.NextMarker }));
    expect(rest.Tags).toEqual([{ TagKey: 'env', TagValue: 'dev' }]);
    expect(rest.Truncated).toBe(false);
    await admin.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['team'] }));
    expect((await admin.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([{ TagKey: 'env', TagValue: 'dev' }]);
  });

  it('refuses aws: tag keys and duplicates with TagException, and more than 50 tags with LimitExceededException', async () => {
    const keyId = await defaultKey();
    expect((await kmsError(admin.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] })))).name).toBe('TagException');
    expect((await kmsError(admin.send(new CreateKeyCommand({ Tags: [{ TagKey: 'AWS:x', TagValue: 'y' }] })))).name).toBe('TagException');
    expect((await kmsError(admin.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'a', TagValue: '2' }] })))).name).toBe('TagException');
    const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    await admin.send(new TagResourceCommand({ KeyId: keyId, Tags: fifty }));
    expect((await kmsError(admin.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'one-more', TagValue: 'v' }] })))).name).toBe('LimitExceededException');
    expect((await kmsError(admin.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'x'.repeat(129), TagValue: 'v' }] })))).name).toBe('ValidationException');
  });

  it('needs kms:TagResource: the producer role may not tag', async () => {
    const keyId = await defaultKey();
    expect((await kmsError(client.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] })))).name).toBe('AccessDeniedException');
  });
});

describe('UpdateKeyDescription and ListKeyPolicies', () => {
  it('changes the description and lists the one policy, "default"', async () => {
    const keyId = await defaultKey();
    await admin.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'renamed' }));
    expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description).toBe('renamed');
    expect(await admin.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).toMatchObject({ PolicyNames: ['default'], Truncated: false });
    expect((await kmsError(client.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'x' })))).name).toBe('AccessDeniedException');
  });
});

describe('grants', () => {
  it('give the grantee what its IAM policy does not, only within the constraint, until retired', async () => {
    const keyId = await defaultKey();
    const blobA = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('a'), EncryptionContext: { tenant: 'a' } }))).CiphertextBlob!;
    const blobB = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('b'), EncryptionContext: { tenant: 'b' } }))).CiphertextBlob!;
    // The producer's IAM policy has no kms:Decrypt: denied before the grant.
    expect((await kmsError(client.send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' } })))).message).toMatch(/because no identity-based policy allows the kms:Decrypt action$/);

    const grant = await admin.send(new CreateGrantCommand({
      KeyId: keyId, GranteePrincipal: h.principal('client').arn, RetiringPrincipal: h.principal('admin').arn,
      Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { tenant: 'a' } }, Name: 'tenant-a',
    }));
    expect(grant.GrantId).toMatch(/^[0-9a-f]{64}$/);
    const out = await client.send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' }, GrantTokens: [grant.GrantToken!] }));
    expect(Buffer.from(out.Plaintext!).toString()).toBe('a');
    // The constraint holds: tenant b stays closed.
    expect((await kmsError(client.send(new DecryptCommand({ CiphertextBlob: blobB, EncryptionContext: { tenant: 'b' } })))).name).toBe('AccessDeniedException');
    // The grant gives Decrypt only.
    expect((await kmsError(client.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: h.principal('client').arn, Operations: ['Decrypt'] })))).name).toBe('AccessDeniedException');

    // Same name and parameters: the same grant (idempotent).
    const again = await admin.send(new CreateGrantCommand({
      KeyId: keyId, GranteePrincipal: h.principal('client').arn, RetiringPrincipal: h.principal('admin').arn,
      Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { tenant: 'a' } }, Name: 'tenant-a',
    }));
    expect(again.GrantId).toBe(grant.GrantId);

    const listed = await admin.send(new ListGrantsCommand({ KeyId: keyId }));
    expect(listed.Grants).toHaveLength(1);
    expect(listed.Grants![0]).toMatchObject({
      KeyId: keyId, GrantId: grant.GrantId, Name: 'tenant-a', GranteePrincipal: h.principal('client').arn,
      RetiringPrincipal: h.principal('admin').arn, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { tenant: 'a' } },
      IssuingAccount: 'arn:aws:iam::111122223333:root',
    });
    const retirable = await admin.send(new ListRetirableGrantsCommand({ RetiringPrincipal: h.principal('admin').arn }));
    expect(retirable.Grants!.map((g) => g.GrantId)).toContain(grant.GrantId);

    // The grantee may not retire it (RetireGrant is not among its operations); the retiring principal may.
    expect((await kmsError(client.send(new RetireGrantCommand({ GrantToken: grant.GrantToken })))).name).toBe('AccessDeniedException');
    await admin.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    expect((await kmsError(client.send(new DecryptCommand({ CiphertextBlob: blobA, EncryptionContext: { tenant: 'a' } })))).name).toBe('AccessDeniedException');
    expect((await admin.send(new ListGrantsCommand({ KeyId: keyId }))).Grants).toEqual([]);
  });

  it('RevokeGrant removes a grant; unknown and malformed grant ids and tokens are refused', async () => {
    const keyId = await defaultKey();
    const blob = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    const grant = await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: h.principal('client').arn, Operations: ['Decrypt', 'RetireGrant'] }));
    expect(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('x');
    await admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId }));
    expect((await kmsError(client.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('AccessDeniedException');
    expect((await kmsError(admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId })))).name).toBe('NotFoundException');
    expect((await kmsError(admin.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: 'not-a-grant-id' })))).name).toBe('InvalidGrantIdException');
    expect((await kmsError(admin.send(new RetireGrantCommand({ GrantToken: 'bogus' })))).name).toBe('InvalidGrantTokenException');
    expect((await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: blob, GrantTokens: ['bogus'] })))).name).toBe('InvalidGrantTokenException');
  });

  it('validates operations against the key type and refuses constraints on operations without a context', async () => {
    const keyId = await defaultKey();
    const grantee = h.principal('client').arn;
    expect((await kmsError(admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee, Operations: ['Sign'] })))).name).toBe('ValidationException');
    expect((await kmsError(admin.send(new CreateGrantCommand({
      KeyId: keyId, GranteePrincipal: grantee, Operations: ['DescribeKey'], Constraints: { EncryptionContextEquals: { a: 'b' } },
    })))).name).toBe('ValidationException');
    expect((await kmsError(admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'not a principal', Operations: ['Decrypt'] })))).name).toBe('InvalidArnException');
  });

  it('never beat an explicit Deny: the enclave role with a Decrypt grant is still denied without attestation', async () => {
    const keyId = await defaultKey();
    const blob = (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    await admin.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: h.principal('enclave').arn, Operations: ['Decrypt'] }));
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: blob })));
    expect(err.message).toMatch(/with an explicit deny in an identity-based policy$/);
  });
});
