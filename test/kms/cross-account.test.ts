/**
 * The cross-account snapshot policy of the design notes ("Allow use of the key with destination
 * account": kms:ViaService and kms:CallerAccount), end to end: a principal of another account uses
 * the key by its ARN, only when the simulator is told the call comes through RDS in us-west-2.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, ListKeysCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { startKmsSimulator, type KmsPrincipal } from '../../sim/kms/index.js';
import { kmsClient, kmsError, makeStateDir } from './harness.js';

const OWNER = '111122223333';
const DEST = '444455556666';
const iamAllow = (action: string | string[], resource: string) =>
  ({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: action, Resource: resource } });
const owner: KmsPrincipal = {
  arn: `arn:aws:iam::${OWNER}:role/admin`, accessKeyId: 'AKIAOWNER00000000001', secretAccessKey: 'o'.repeat(40),
  identityPolicies: [iamAllow('kms:*', '*')],
};
// Cross-account use needs the destination account's IAM policy too: this one allows the source
// account's keys (the key ARN is not known before CreateKey) for Decrypt and CreateGrant.
const restore: KmsPrincipal = {
  arn: `arn:aws:iam::${DEST}:role/rds-restore`, accessKeyId: 'AKIADEST000000000001', secretAccessKey: 'd'.repeat(40),
  identityPolicies: [iamAllow(['kms:Decrypt', 'kms:CreateGrant'], `arn:aws:kms:us-west-2:${OWNER}:key/*`), iamAllow('kms:ListKeys', '*')],
};
// The same role name without any IAM policy: the key policy admits its account, IAM does not.
const bare: KmsPrincipal = { arn: `arn:aws:iam::${DEST}:role/no-iam`, accessKeyId: 'AKIADEST000000000002', secretAccessKey: 'b'.repeat(40) };
const policy = JSON.stringify({
  Version: '2012-10-17',
  Id: 'key-policy-cross-account-snapshot',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'Allow use of the key with destination account',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${DEST}:root` },
      Action: ['kms:Decrypt', 'kms:CreateGrant'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 'rds.us-west-2.amazonaws.com', 'kms:CallerAccount': DEST } },
    },
  ],
});

let dir: string;
beforeAll(async () => {
  dir = await makeStateDir('ek-kms-xacct-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(viaService?: string) {
  return startKmsSimulator({
    stateDir: dir, region: 'us-west-2', principals: [owner, restore, bare], writeDiscoveryFile: false, silent: true,
    ...(viaService === undefined ? {} : { viaService }),
  });
}

describe('cross-account key use', () => {
  it('lets the destination account decrypt by key ARN only via RDS in us-west-2', async () => {
    const direct = await start();
    let keyArn: string;
    let keyId: string;
    let blob: Uint8Array;
    let grantToken = '';
    try {
      const o = kmsClient(direct, owner);
      const created = await o.send(new CreateKeyCommand({ Policy: policy }));
      keyArn = created.KeyMetadata!.Arn!;
      keyId = created.KeyMetadata!.KeyId!;
      expect(keyArn).toBe(`arn:aws:kms:us-west-2:${OWNER}:key/${keyId}`);
      blob = (await o.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('snapshot key') }))).CiphertextBlob!;
      const d = kmsClient(direct, restore);
      const denied = await kmsError(d.send(new DecryptCommand({ CiphertextBlob: blob })));
      expect(denied.name).toBe('AccessDeniedException');
      expect(denied.message).toContain(`User: ${restore.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn}`);
      // Another account's key is not found by bare id (it resolves in the caller's account)...
      expect((await kmsError(d.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('NotFoundException');
      // ...and by ARN it is found but the policy grants no DescribeKey.
      expect((await kmsError(d.send(new DescribeKeyCommand({ KeyId: keyArn })))).name).toBe('AccessDeniedException');
      expect((await d.send(new ListKeysCommand({}))).Keys).toEqual([]);
      // CreateGrant is conditioned on the same service: refused when called directly.
      expect((await kmsError(d.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: restore.arn, Operations: ['Decrypt'] })))).name).toBe('AccessDeniedException');
      o.destroy();
      d.destroy();
    } finally {
      await direct.close();
    }

    const viaRds = await start('rds.us-west-2.amazonaws.com');
    try {
      const d = kmsClient(viaRds, restore);
      const out = await d.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn }));
      expect(Buffer.from(out.Plaintext!).toString()).toBe('snapshot key');
      // Via RDS the destination account may create a grant on the key (as RDS does for a restore).
      const grant = await d.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: restore.arn, RetiringPrincipal: restore.arn, Operations: ['Decrypt'] }));
      expect(grant.GrantId).toMatch(/^[0-9a-f]{64}$/);
      grantToken = grant.GrantToken!;
      const b = kmsClient(viaRds, bare);
      expect((await kmsError(b.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn })))).message).toBe(
        `User: ${bare.arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} because no identity-based policy allows the kms:Decrypt action`,
      );
      b.destroy();
      expect((await kmsError(d.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
      d.destroy();
    } finally {
      await viaRds.close();
    }
    const viaEc2 = await start('ec2.us-west-2.amazonaws.com');
    try {
      const d = kmsClient(viaEc2, restore);
      // The grant is not bound to a service: while it exists, it opens the key from anywhere.
      expect(Buffer.from((await d.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn }))).Plaintext!).toString()).toBe('snapshot key');
      await d.send(new RetireGrantCommand({ GrantToken: grantToken }));
      expect((await kmsError(d.send(new DecryptCommand({ CiphertextBlob: blob })))).name).toBe('AccessDeniedException');
      d.destroy();
    } finally {
      await viaEc2.close();
    }
  });
});
