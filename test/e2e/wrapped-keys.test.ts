/**
 * The parent hands the enclave its wrapped keys but must not choose them (docs/security.md,
 * "Wrapped keys"). A rogue parent connects to the enclave's socket directly and offers other keys:
 * a producer's data key (card context), another data key under the right KMS key and context, and
 * the right keys under a different name set. The enclave refuses each, keeps its real keys, and
 * tokens stay the same.
 */
import path from 'node:path';
import { GenerateDataKeyWithoutPlaintextCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
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

describe('keys.load from a rogue parent', () => {
  it('refuses keys that are not the pinned ones, and tokens never change', async () => {
    const before = await token();
    const context = { purpose: 'tokenization-key' };

    // A producer's data key (it knows the plaintext): wrong context, refused before any KMS call.
    const producerKey = await stack.kms('client').send(new GenerateDataKeyCommand({ KeyId: stack.keyArn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'card' } }));
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: producerKey.CiphertextBlob, keyId: stack.keyArn, encryptionContext: { purpose: 'card' } } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED', message: expect.stringContaining('pinned KMS key and encryption context') });
    // Claiming the pinned context for the producer's blob does not help: KMS binds the context.
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: producerKey.CiphertextBlob, keyId: stack.keyArn, encryptionContext: context } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED', message: expect.stringContaining('not the pinned wrapped key') });

    // Another data key made under the right key and context (by the key generator): not the pinned blob.
    const other = await stack.kms('admin').send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: stack.keyArn, KeySpec: 'AES_256', EncryptionContext: context }));
    await expect(
      rogue.request('keys.load', { keys: { tokenization: { ciphertextBlob: other.CiphertextBlob, keyId: stack.keyArn, encryptionContext: context } } }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED' });

    // A name the configuration does not pin.
    await expect(rogue.request('keys.load', { keys: { extra: { ciphertextBlob: other.CiphertextBlob, keyId: stack.keyArn, encryptionContext: context } } })).rejects.toMatchObject({ code: 'ERR_KEY_NOT_PINNED' });

    expect(await token()).toBe(before);
    expect((await stack.api('/readyz')).status).toBe(200);
  });
});
