/**
 * Signed ESDK records whose signer key the enclave has already decoded (enclave/sealed/
 * verification-key-cache.ts): they still open, their signatures are still checked one by one, and
 * a record signed by another key (or claiming another key) is not helped by the kept one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import { openEsdkRecord } from '../../enclave/sealed/esdk.js';
import { DecryptionFailedError } from '../../shared/errors.js';
import { esdkClientProvider, startSealedHarness, type SealedHarness, type TestEnclave } from './harness.js';

const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const card = (i: number): Uint8Array => new TextEncoder().encode(`{"pan":"411111111111${String(1000 + i)}","exp":"12/30"}`);

let h: SealedHarness;
let producer: KMS;
let enclave: TestEnclave;

beforeAll(async () => {
  h = await startSealedHarness();
  producer = h.kmsFor('client');
  enclave = await h.enclave();
}, 30_000);

afterAll(async () => {
  enclave?.close();
  await h?.close();
});

/** Records from one producer whose caching CMM signs them all with one key. */
async function sealedByOneSigner(count: number): Promise<Uint8Array[]> {
  const cmm = new NodeCachingMaterialsManager({
    backingMaterials: new KmsKeyringNode({ generatorKeyId: h.cardKeyArn, clientProvider: esdkClientProvider(producer) }),
    cache: getLocalCryptographicMaterialsCache(4),
    maxAge: 60_000,
    maxMessagesEncrypted: 1_000,
  });
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i += 1) out.push(new Uint8Array((await esdk.encrypt(cmm, card(i), { encryptionContext: { purpose: 'card' }, suiteId: SIGNED })).result));
  return out;
}

const open = (message: Uint8Array) => openEsdkRecord(message, { kms: enclave.kms, cardKeyArn: h.cardKeyArn, requiredContext: { purpose: 'card' }, maxBodyBytes: 1024 });
const signerOf = (message: Uint8Array): string => /aws-crypto-public-key.{2}([A-Za-z0-9+/=]{64})/s.exec(Buffer.from(message).toString('latin1'))?.[1] ?? '';

describe('signed records from a signer already seen', () => {
  it('open, each with its own plaintext, under one signer key', async () => {
    const messages = await sealedByOneSigner(4);
    expect(new Set(messages.map(signerOf)).size).toBe(1);
    for (const [i, message] of messages.entries()) {
      expect(Buffer.from((await open(message)).plaintext).toString()).toBe(Buffer.from(card(i)).toString());
    }
  });

  it('a tampered signature is refused although the signer key is kept', async () => {
    const [first, second] = await sealedByOneSigner(2);
    await open(first!);
    const tampered = second!.slice();
    tampered[tampered.length - 1]! ^= 0x01; // last byte of the footer's DER signature
    await expect(open(tampered)).rejects.toBeInstanceOf(DecryptionFailedError);
    expect(Buffer.from((await open(second!)).plaintext).toString()).toBe(Buffer.from(card(1)).toString());
  });

  it('records of another signer are checked against their own key', async () => {
    const [ours] = await sealedByOneSigner(1);
    const [theirs] = await sealedByOneSigner(1);
    expect(signerOf(ours!)).not.toBe(signerOf(theirs!));
    await open(ours!);
    expect(Buffer.from((await open(theirs!)).plaintext).toString()).toBe(Buffer.from(card(0)).toString());
  });
});
