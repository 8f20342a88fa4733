/**
 * kmsRsa inputs against the KMS simulator: an RSA_2048 ENCRYPT_DECRYPT key whose policy
 * generateKeyPolicy wrote (kind rsa: the producer only GetPublicKey, the enclave role only Decrypt
 * with attestation); the enclave opens through AttestedKms (Recipient, CiphertextForRecipient,
 * data-key cache). Counts KMS calls per message, and attacks the key as the parent would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KMS } from '@aws-sdk/client-kms';
import { KmsRsaSealer, sealWithKmsPublicKey } from '../../client/kms-rsa.js';
import { openKmsRsaInput, type KmsRsaKeyPin } from '../../enclave/sealed/kms-rsa.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { generateKeyPolicy } from '../../shared/policy/generate.js';
import { parseKmsRsaSealed } from '../../shared/sealed/kms-rsa-format.js';
import { createKmsRsaKey, OTHER_BUNDLE, startSealedHarness, type SealedHarness, type TestEnclave } from './harness.js';

const CARD = '{"pan":"4111111111111111","exp":"12/30"}';
let h: SealedHarness;
let enclave: TestEnclave;
let spki: Uint8Array;
let pin: KmsRsaKeyPin;

beforeAll(async () => {
  h = await startSealedHarness();
  ({ pin, spki } = await createKmsRsaKey(h));
  enclave = await h.enclave();
}, 60_000);

afterAll(async () => {
  enclave?.close();
  await h?.close();
});

const open = (e: TestEnclave, bytes: Uint8Array, purpose = 'card', field?: string) => openKmsRsaInput(bytes, { kms: e.kms, key: pin, purpose, field, maxBytes: 4096 });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('kmsRsa through the attested KMS client', () => {
  it('opens with Decrypt + Recipient; one KMS call per wrapped secret, not per message', async () => {
    const before = enclave.calls['Decrypt'] ?? 0;
    const N = 200;
    const sealer = new KmsRsaSealer(spki, { maxMessages: N });
    for (let i = 0; i < N; i += 1) {
      const plaintext = await open(enclave, sealer.seal(CARD, { purpose: 'card' }));
      expect(new TextDecoder().decode(plaintext)).toBe(CARD);
    }
    sealer.dispose();
    expect(sealer.secretsMade).toBe(1);
    expect((enclave.calls['Decrypt'] ?? 0) - before).toBe(1);

    const each = 5;
    for (let i = 0; i < each; i += 1) await open(enclave, sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }));
    expect((enclave.calls['Decrypt'] ?? 0) - before).toBe(1 + each);
  });

  it('a cached secret does not open a relabelled message', async () => {
    const sealer = new KmsRsaSealer(spki);
    const email = sealer.seal('a@example.com', { purpose: 'pii-value', field: 'email' });
    await open(enclave, email, 'pii-value', 'email');
    const error = await failure(open(enclave, email, 'pii-text'));
    expect((error as EnclaveKitError).code).toBe('ERR_DECRYPT_FAILED');
    sealer.dispose();
  });

  it('an enclave of other code is refused by the key policy', async () => {
    const rogue = await h.enclave({ bundle: OTHER_BUNDLE });
    try {
      const error = await failure(open(rogue, sealWithKmsPublicKey(spki, CARD, { purpose: 'card' })));
      expect((error as EnclaveKitError).code).toBe('ERR_KMS_ACCESS_DENIED');
    } finally {
      rogue.close();
    }
  });

  it('the parent, with the enclave role, can neither Decrypt the wrapped secret (no Recipient) nor read the public key', async () => {
    const parent: KMS = h.kmsFor('enclave');
    const { wrappedSecret } = parseKmsRsaSealed(sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }), 4096);
    const decrypt = await failure(parent.decrypt({ KeyId: pin.keyArn, CiphertextBlob: wrappedSecret, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect((decrypt as { name: string }).name).toBe('AccessDeniedException');
    const getPublicKey = await failure(parent.getPublicKey({ KeyId: pin.keyArn }));
    expect((getPublicKey as { name: string }).name).toBe('AccessDeniedException');
  });
});
