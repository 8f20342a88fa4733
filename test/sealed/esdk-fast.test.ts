/**
 * The direct decryption of the unsigned committing suite (enclave/sealed/esdk-fast.ts) on the
 * cases a byte fuzzer does not build: what KMS answers (another key id, a short key, failures),
 * compared with @aws-crypto/client-node given the same KMS stand-in, with the KMS calls counted;
 * and the enclave rules still in front of it.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, KmsKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, MultiKeyringNode } from '@aws-crypto/client-node';
import { decryptUnsignedCommitting, fastPathApplies } from '../../enclave/sealed/esdk-fast.js';
import { inspectEsdkMessage } from '../../enclave/sealed/esdk-header.js';
import { openEsdkRecord, type EsdkDecryptInput } from '../../enclave/sealed/esdk.js';
import { DecryptionFailedError, EnclaveKitError } from '../../shared/errors.js';

const CARD_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const CARD = new TextEncoder().encode('{"pan":"4111111111111111","exp":"12/39"}');
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const LIMITS = { maxEncryptedDataKeys: 10, maxBodyBytes: 1024 };

type Answer = (input: EsdkDecryptInput, key: Uint8Array) => Promise<{ KeyId?: string; Plaintext?: Uint8Array }>;

function standIn(answer: Answer = async (input, key) => ({ KeyId: input.KeyId ?? CARD_ARN, Plaintext: Uint8Array.from(key) })) {
  const issued = new Map<string, Uint8Array>();
  const calls: EsdkDecryptInput[] = [];
  return {
    calls,
    async generateDataKey(input: { KeyId: string; NumberOfBytes: number }) {
      const key = randomBytes(input.NumberOfBytes);
      const blob = randomBytes(64);
      issued.set(blob.toString('hex'), new Uint8Array(key));
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(key), CiphertextBlob: new Uint8Array(blob) };
    },
    async encrypt(input: { KeyId: string; Plaintext: Uint8Array }) {
      const blob = randomBytes(64);
      issued.set(blob.toString('hex'), Uint8Array.from(input.Plaintext));
      return { KeyId: input.KeyId, CiphertextBlob: new Uint8Array(blob) };
    },
    async decrypt(input: EsdkDecryptInput) {
      calls.push(input);
      const key = issued.get(Buffer.from(input.CiphertextBlob).toString('hex'));
      if (key === undefined) throw Object.assign(new Error('invalid ciphertext'), { name: 'InvalidCiphertextException' });
      return answer(input, key);
    },
  };
}

type StandIn = ReturnType<typeof standIn>;

async function seal(kms: StandIn, context: Record<string, string>, keys = 1): Promise<Uint8Array> {
  const generator = new KmsKeyringNode({ generatorKeyId: CARD_ARN, keyIds: Array.from({ length: keys - 1 }, () => CARD_ARN), clientProvider: () => kms as never });
  return new Uint8Array((await esdk.encrypt(generator, CARD, { encryptionContext: context, suiteId: UNSIGNED })).result);
}

async function verdicts(kms: StandIn, message: Uint8Array): Promise<{ ours: string; library: string; ourCalls: number; libraryCalls: number }> {
  const layout = inspectEsdkMessage(message, LIMITS);
  expect(fastPathApplies(layout)).toBe(true);
  const before = kms.calls.length;
  let ours: string;
  try {
    ours = (await decryptUnsignedCommitting(message, layout, kms, CARD_ARN)).toString('hex');
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    ours = (error as EnclaveKitError).code;
  }
  const ourCalls = kms.calls.length - before;
  let library: string;
  try {
    library = Buffer.from((await esdk.decrypt(new KmsKeyringNode({ keyIds: [CARD_ARN], clientProvider: () => kms as never }), message)).plaintext).toString('hex');
  } catch {
    library = 'rejected';
  }
  return { ours, library, ourCalls, libraryCalls: kms.calls.length - before - ourCalls };
}

describe('unsigned committing suite, direct path', () => {
  it('opens what the ESDK sealed, asking KMS once with the message context and the card key', async () => {
    const kms = standIn();
    const message = await seal(kms, { purpose: 'card' });
    const result = await verdicts(kms, message);
    expect(result.ours).toBe(Buffer.from(CARD).toString('hex'));
    expect(result.library).toBe(result.ours);
    expect(result.ourCalls).toBe(1);
    expect(kms.calls[0]).toMatchObject({ KeyId: CARD_ARN, EncryptionContext: { purpose: 'card' } });
  });

  it('an answer for another key id, or a key of the wrong length, is refused as the library refuses it', async () => {
    for (const answer of [
      (async (_input, key) => ({ KeyId: 'arn:aws:kms:us-east-1:111122223333:key/other', Plaintext: Uint8Array.from(key) })) as Answer,
      (async (input, key) => ({ KeyId: input.KeyId!, Plaintext: key.slice(0, 16) })) as Answer,
    ]) {
      const kms = standIn(answer);
      const result = await verdicts(kms, await seal(kms, { purpose: 'card' }));
      expect(result.ours).toBe('ERR_DECRYPT_FAILED');
      expect(result.library).toBe('rejected');
    }
  });

  it('a failing first data key moves on to the next, as the keyring does; all failing keeps the KMS error typed', async () => {
    let fail = 1;
    const kms = standIn(async (input, key) => {
      if (fail-- > 0) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return { KeyId: input.KeyId!, Plaintext: Uint8Array.from(key) };
    });
    const message = await seal(kms, { purpose: 'card' }, 2);
    fail = 1;
    const layout = inspectEsdkMessage(message, LIMITS);
    expect(Buffer.from(await decryptUnsignedCommitting(message, layout, kms, CARD_ARN)).equals(Buffer.from(CARD))).toBe(true);
    fail = 2;
    const error = await decryptUnsignedCommitting(message, layout, kms, CARD_ARN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnclaveKitError);
    expect((error as EnclaveKitError).status).toBe(503);
  });

  it('openEsdkRecord takes the direct path only after the enclave rules: a message without the card key never reaches KMS', async () => {
    const kms = standIn();
    const aes = new RawAesKeyringNode({ keyName: 'k', keyNamespace: 'ns', unencryptedMasterKey: new Uint8Array(32).fill(1), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
    const message = new Uint8Array((await esdk.encrypt(new MultiKeyringNode({ generator: aes }), CARD, { encryptionContext: { purpose: 'card' }, suiteId: UNSIGNED })).result);
    const error = await openEsdkRecord(message, { kms, cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, maxBodyBytes: 1024 }).catch((e: unknown) => e);
    expect((error as EnclaveKitError).code).toBe('ERR_SENDER_NOT_ALLOWED');
    expect(kms.calls).toHaveLength(0);
    const wrongPurpose = await seal(kms, { purpose: 'pii-text' });
    const refused = await openEsdkRecord(wrongPurpose, { kms, cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, maxBodyBytes: 1024 }).catch((e: unknown) => e);
    expect((refused as EnclaveKitError).code).toBe('ERR_ENCRYPTION_CONTEXT');
    expect(kms.calls).toHaveLength(0);
    expect(refused).not.toBeInstanceOf(DecryptionFailedError);
  });
});
