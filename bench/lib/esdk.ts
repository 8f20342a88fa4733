/**
 * AWS Encryption SDK producers and the library's own decrypt for the card scenarios.
 *
 * Producers seal with a caching CMM (NodeCachingMaterialsManager): one KMS GenerateDataKey serves
 * `messagesPerDataKey` records, as the ESDK recommends for high-volume producers. Records sharing a
 * data key are the case where the enclave's per-record work is the whole cost (its data-key cache
 * answers every record after the first of each key), which is what an "ESDK path vs the ESDK
 * library" comparison is about. The baseline decrypts with a caching CMM too (the library at its
 * fastest: decryption materials cached per data key), its keyring asking the in-process enclave's
 * attested KMS client only on a miss (only an attested enclave may Decrypt under the card key).
 */
import https from 'node:https';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
  type KmsKeyringNodeInput,
} from '@aws-crypto/client-node';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { inspectEsdkMessage } from '../../enclave/sealed/esdk-header.js';
import type { KmsSimulator } from '../../sim/kms/index.js';
import type { SimPrincipal } from '../../sim/state.js';
import { esdkClientProvider } from './kms-client.js';
import { cardJson, type TestCard } from './cards.js';

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

export const SUITES = {
  /** The ESDK's default: committing, ECDSA P-384 signed (0x0578). */
  signed: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
  /** Committing, unsigned (0x0478). */
  unsigned: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
} as const;
export type SuiteName = keyof typeof SUITES;

/** Seals each card's JSON under `keyArn` with the client role (purpose=card). */
export async function sealCardsEsdk(
  sim: Pick<KmsSimulator, 'endpoint' | 'region' | 'caPem'>,
  producer: SimPrincipal,
  keyArn: string,
  cards: readonly TestCard[],
  options: { suite: SuiteName; messagesPerDataKey: number },
): Promise<Uint8Array[]> {
  const kms = new KMS({
    endpoint: sim.endpoint,
    region: sim.region,
    credentials: { accessKeyId: producer.accessKeyId, secretAccessKey: producer.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: sim.caPem ?? undefined, keepAlive: true }) }),
  });
  try {
    const cmm = new NodeCachingMaterialsManager({
      backingMaterials: new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: esdkClientProvider(kms) }),
      cache: getLocalCryptographicMaterialsCache(16),
      maxAge: 60 * 60_000,
      maxMessagesEncrypted: options.messagesPerDataKey,
    });
    const sealed: Uint8Array[] = [];
    for (const card of cards) {
      const { result } = await esdk.encrypt(cmm, cardJson(card), { encryptionContext: { purpose: 'card' }, suiteId: SUITES[options.suite] });
      sealed.push(new Uint8Array(result));
    }
    return sealed;
  } finally {
    kms.destroy();
  }
}

/** Distinct wrapped data keys among `messages` (what one KMS Decrypt each should cost). */
export function distinctDataKeys(messages: readonly Uint8Array[]): number {
  const keys = new Set<string>();
  for (const message of messages) {
    for (const edk of inspectEsdkMessage(message, { maxEncryptedDataKeys: 10, maxBodyBytes: 4096 }).encryptedDataKeys) {
      keys.add(Buffer.from(edk.encryptedDataKey).toString('base64'));
    }
  }
  return keys.size;
}

/** The AWS Encryption SDK decrypting in this process with a caching CMM over `kms`. */
export function libraryDecryptor(kms: unknown, keyArn: string): (message: Uint8Array) => Promise<Uint8Array> {
  const cmm = new NodeCachingMaterialsManager({
    // The enclave's AttestedKms has the aggregated client's decrypt shape (attested-kms.ts).
    backingMaterials: new KmsKeyringNode({ keyIds: [keyArn], clientProvider: (() => kms) as NonNullable<KmsKeyringNodeInput['clientProvider']> }),
    cache: getLocalCryptographicMaterialsCache(64),
    maxAge: 60 * 60_000,
  });
  return async (message) => (await esdk.decrypt(cmm, message, { maxBodySize: 4096 })).plaintext;
}
