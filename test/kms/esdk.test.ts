/**
 * The AWS Encryption SDK (@aws-crypto/client-node) against the simulator: its KMS keyring calls the
 * aggregated `KMS` client's generateDataKey/encrypt/decrypt (docs/formats.md, library traps), so
 * producers can seal records under a simulated key exactly as under AWS KMS.
 */
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { CreateKeyCommand, KMS, type KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startHarness, type Harness } from './harness.js';

type KeyringInput = NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>;

let h: Harness;
let admin: KMSClient;
let kms: KMS;

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  const p = h.principal('admin');
  kms = new KMS({
    endpoint: h.sim.endpoint,
    region: h.sim.region,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: h.sim.caPem ?? undefined }) }),
  });
});

afterAll(async () => {
  kms.destroy();
  await h.close();
});

describe('AWS Encryption SDK with a simulated KMS key', () => {
  it('encrypts and decrypts a message, with the encryption context carried through', async () => {
    const keyArn = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    // The ESDK's client interface predates exactOptionalPropertyTypes (its KeyId is `string`, the
    // v3 SDK's `string | undefined`); the runtime shapes are the same.
    const clientProvider = (() => kms) as unknown as NonNullable<KeyringInput['clientProvider']>;
    const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider });
    const { result } = await encrypt(keyring, Buffer.from('card record'), { encryptionContext: { tenant: 'a' } });
    const opened = await decrypt(keyring, result);
    expect(opened.plaintext.toString()).toBe('card record');
    expect(opened.messageHeader.encryptionContext).toMatchObject({ tenant: 'a' });
    expect(opened.messageHeader.encryptedDataKeys[0]!.providerInfo).toBe(keyArn);
  });
});
