/**
 * NitroTPM documents as KMS Recipient: they set kms:RecipientAttestation:NitroTPMPCR<n> and none of
 * the enclave keys, so a key bound to an enclave measurement stays closed to a NitroTPM document
 * with the same register values, and a NitroTPM-bound key stays closed to enclave documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { openCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import type { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { enclaveKeyPair, kmsError, simulatedNsm, startHarness, type Harness } from './harness.js';

const X = 'a1'.repeat(48);
const Y = 'b2'.repeat(48);

let h: Harness;
let admin: KMSClient;
let nsm: SimulatedNsm;
const key = enclaveKeyPair();

function policy(condition: Record<string, string>): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Manage', Effect: 'Allow', Principal: { AWS: h.principal('admin').arn }, Action: ['kms:Encrypt', 'kms:PutKeyPolicy', 'kms:DescribeKey'], Resource: '*' },
      { Sid: 'Attested', Effect: 'Allow', Principal: { AWS: h.principal('admin').arn }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEqualsIgnoreCase: condition } },
    ],
  });
}

async function blobUnder(condition: Record<string, string>): Promise<Uint8Array> {
  const keyId = (await admin.send(new CreateKeyCommand({ Policy: policy(condition) }))).KeyMetadata!.Arn!;
  return (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('attested') }))).CiphertextBlob!;
}

function recipient(doc: Uint8Array) {
  return { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: doc };
}

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  // Enclave PCR0 and PCR4 equal the TPM registers of the NitroTPM documents below.
  nsm = await simulatedNsm(h.dir, { 0: X, 1: X, 2: X, 4: Y });
});
afterAll(async () => {
  await h.close();
});

describe('NitroTPM Recipient', () => {
  it('opens a key bound to kms:RecipientAttestation:NitroTPMPCR4, as CiphertextForRecipient', async () => {
    const blob = await blobUnder({ 'kms:RecipientAttestation:NitroTPMPCR4': Y });
    const doc = await nsm.attestNitroTpm({ publicKey: key.spki }, { 0: X, 4: Y });
    const out = await admin.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(doc) }));
    expect(out.Plaintext).toBeUndefined();
    expect(Buffer.from(openCiphertextForRecipient(out.CiphertextForRecipient!, key.privateKey)).toString()).toBe('attested');
    // Another TPM PCR4: denied.
    const other = await nsm.attestNitroTpm({ publicKey: key.spki }, { 4: X });
    expect((await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(other) })))).name).toBe('AccessDeniedException');
    // An enclave document with PCR4 = Y sets no NitroTPM keys: denied.
    const enclaveDoc = await nsm.attest({ publicKey: key.spki });
    expect((await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(enclaveDoc) })))).name).toBe('AccessDeniedException');
  });

  it('never satisfies enclave keys: a NitroTPM document with TPM PCR0 = the enclave PCR0 is denied', async () => {
    for (const condition of [{ 'kms:RecipientAttestation:PCR0': X }, { 'kms:RecipientAttestation:ImageSha384': X }]) {
      const blob = await blobUnder(condition);
      const tpmDoc = await nsm.attestNitroTpm({ publicKey: key.spki }, { 0: X, 4: Y });
      expect((await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(tpmDoc) })))).name).toBe('AccessDeniedException');
      const enclaveDoc = await nsm.attest({ publicKey: key.spki });
      const ok = await admin.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(enclaveDoc) }));
      expect(Buffer.from(openCiphertextForRecipient(ok.CiphertextForRecipient!, key.privateKey)).toString()).toBe('attested');
    }
  });

  it('refuses NitroTPM condition keys outside NitroTPMPCR0..23 in a key policy', async () => {
    const err = await kmsError(admin.send(new CreateKeyCommand({ Policy: policy({ 'kms:RecipientAttestation:NitroTPMPCR24': Y }) })));
    expect(err.name).toBe('MalformedPolicyDocumentException');
  });
});
