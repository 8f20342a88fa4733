/**
 * The parent hands the enclave its wrapped keys but must not choose them (docs/security.md,
 * "Wrapped keys"), and no producer may know them: they live under the internal KMS key, on which
 * producers have no grant. A rogue parent connects to the enclave's socket directly and offers other
 * keys: a producer's data key (card context), another data key under the right KMS key and context,
 * the blind-index blob as the tokenization key, and the right keys under a different name set. The enclave refuses each, keeps its real keys, and
 * tokens stay the same.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectChannel } from '../../shared/transport/index.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import { startStack, type Stack } from './stack.js';
import { esdkProducer, type Producer } from './producer.js';

let stack: Stack;
let producer: Producer;
let rogue: RpcPeer;

beforeAll(async () => {
  stack = await startStack();
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  const channel = await connectChannel(`unix://${path.join(stack.dir, 'run', 'enclave.sock')}`);
  const enclaveRole = stack.principal('enclave');
  rogue = new RpcPeer(channel, { handlers: { credentials: async () => ({ accessKeyId: enclaveRole.accessKeyId, secretAccessKey: enclaveRole.secretAccessKey }), log: async () => ({}) } });
}, 120_000);

afterAll(async () => {
  rogue?.close();
  producer?.close();
  await stack?.close();
});

const CARD = { pan: '4000056655665556', exp: '12/39' };

async function token(): Promise<string> {
  const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard(CARD) } }) });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

async function kmsErrorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { name?: string }).name ?? 'unknown';
  }
  return 'ok';
}

describe('a producer cannot know an enclave key', () => {
  it('GenerateDataKey on the card key with an internal purpose is AccessDenied', async () => {
    for (const purpose of ['tokenization-key', 'blind-index-key']) {
      expect(await kmsErrorName(stack.kms('client').send(new GenerateDataKeyCommand({ KeyId: stack.keyArn, KeySpec: 'AES_256', EncryptionContext: { purpose } })))).toBe('AccessDeniedException');
    }
  });

  it('every operation on the internal key is AccessDenied for the producer', async () => {
    const kms = stack.kms('client');
    const KeyId = stack.internalKeyArn;
    const context = { purpose: 'tokenization-key' };
    const wrapped = Buffer.from((await stack.kms('admin').send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: context }))).CiphertextBlob!);
    // Each call made when it is awaited: a rejection never waits unobserved.
    const attempts: Record<string, () => Promise<unknown>> = {
      GenerateDataKey: () => kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: context })),
      GenerateDataKeyWithoutPlaintext: () => kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext: context })),
      Encrypt: () => kms.send(new EncryptCommand({ KeyId, Plaintext: new Uint8Array(32), EncryptionContext: context })),
      Decrypt: () => kms.send(new DecryptCommand({ KeyId, CiphertextBlob: wrapped, EncryptionContext: context })),
      DescribeKey: () => kms.send(new DescribeKeyCommand({ KeyId })),
    };
    for (const [operation, attempt] of Object.entries(attempts)) expect(`${operation}: ${await kmsErrorName(attempt())}`).toBe(`${operation}: AccessDeniedException`);
  });
});

describe('keys.load from a rogue parent', () => {
  it('refuses keys that are not the pinned ones, and tokens never change', async () => {
    const before = await token();
    const context = { purpose: 'tokenization-key' };

    // A producer's data key (it knows the plaintext): wrong key and context, refused before any KMS call.
    const producerKey = await stack.kms('client').send(new GenerateDataKeyCommand({ KeyId: stack.keyArn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'card' } }));
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: producerKey.CiphertextBlob, keyId: stack.keyArn, encryptionContext: { purpose: 'card' } } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED', message: expect.stringContaining('pinned KMS key and encryption context') });
    // Claiming the pinned key and context for the producer's blob does not help: the blob is pinned by hash.
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: producerKey.CiphertextBlob, keyId: stack.internalKeyArn, encryptionContext: context } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED', message: expect.stringContaining('not the pinned wrapped key') });

    // Another data key made under the right key and context (by the key generator): not the pinned blob.
    const other = await stack.kms('admin').send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: stack.internalKeyArn, KeySpec: 'AES_256', EncryptionContext: context }));
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: other.CiphertextBlob, keyId: stack.internalKeyArn, encryptionContext: context } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED' });
    // The real blind-index blob offered as the tokenization key (swapped): refused by its pin.
    const wrapped = JSON.parse(readFileSync(path.join(stack.dir, 'run', 'parent.json'), 'utf8')).wrappedKeys as Record<string, { ciphertextBlob: string }>;
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: Buffer.from(wrapped['blind-index']!.ciphertextBlob, 'base64'), keyId: stack.internalKeyArn, encryptionContext: context } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED' });

    // A name the configuration does not pin.
    await expect(rogue.request('keys.load', { keys: { extra: { ciphertextBlob: other.CiphertextBlob, keyId: stack.internalKeyArn, encryptionContext: context } } })).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED' });

    expect(await token()).toBe(before);
    expect((await stack.api('/readyz')).status).toBe(200);
  });
});
