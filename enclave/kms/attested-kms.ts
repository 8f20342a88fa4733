/**
 * The enclave's KMS client. Every Decrypt, GenerateDataKey and GenerateRandom carries
 * `Recipient = {RSAES_OAEP_SHA_256, fresh attestation document}`; KMS answers with
 * `CiphertextForRecipient` (CMS EnvelopedData to the enclave's RSA key), which is opened here and
 * returned as `Plaintext`. The methods have the aggregated `KMS` client's shape, which is how
 * `@aws-crypto/client-node`'s KMS keyring calls its client, so the keyring works unchanged.
 *
 * Decrypt results go through the data-key cache: repeated records under one wrapped data key cost
 * no KMS call. Callers get their own copy of a cached key (the ESDK zeroes what it is given).
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  type DecryptCommandInput,
  type EncryptCommandInput,
  type EncryptCommandOutput,
  type GenerateDataKeyCommandInput,
  type GenerateRandomCommandInput,
  type KMSClient,
  type RecipientInfo,
} from '@aws-sdk/client-kms';
import { ServiceError } from '../../shared/errors.js';
import { openCiphertextForRecipient } from './recipient-cms.js';
import { DataKeyCache } from './data-key-cache.js';
import { mapKmsError } from './kms-errors.js';

export interface AttestedKmsOptions {
  client: KMSClient;
  /** A fresh attestation document whose public_key is the SPKI of `recipientKey`. */
  attest: () => Promise<Uint8Array>;
  /** RSA-2048 private key generated at boot; never leaves the enclave. */
  recipientKey: KeyObject;
  cache?: DataKeyCache;
  /** Counts KMS calls by operation (metrics, benchmarks). */
  onCall?: (operation: string, outcome: 'ok' | 'error') => void;
}

export interface PlaintextOutput {
  KeyId?: string | undefined;
  Plaintext: Uint8Array;
}

export class AttestedKms {
  readonly #options: AttestedKmsOptions;
  readonly cache: DataKeyCache;

  constructor(options: AttestedKmsOptions) {
    this.#options = options;
    this.cache = options.cache ?? new DataKeyCache();
  }

  /**
   * Decrypts a KMS ciphertext blob (a wrapped data key) through attestation, cached. With
   * `{ cache: false }` the plaintext is handed over without a copy staying in the data-key cache:
   * for values whose owner zeroes them on its own schedule (sealed secrets, enclave/secrets).
   */
  async decrypt(input: DecryptCommandInput, options: { cache?: boolean } = {}): Promise<PlaintextOutput> {
    const blob = input.CiphertextBlob;
    if (blob === undefined) throw new ServiceError('ERR_KMS_REJECTED', 'Decrypt needs a CiphertextBlob');
    if (options.cache === false) {
      const out = await this.#send('Decrypt', async (Recipient) => this.#options.client.send(new DecryptCommand({ ...input, Recipient })));
      if (input.KeyId !== undefined && input.KeyId.startsWith('arn:') && out.KeyId !== input.KeyId) {
        throw new ServiceError('ERR_KMS_REJECTED', 'KMS answered Decrypt with another key than the one asked for');
      }
      return { KeyId: out.KeyId, Plaintext: this.#open(out.CiphertextForRecipient) };
    }
    let keyId: string | undefined;
    const copy = await this.cache.use(
      decryptCacheKey(input),
      async () => {
        const out = await this.#send('Decrypt', async (Recipient) =>
          this.#options.client.send(new DecryptCommand({ ...input, Recipient })),
        );
        // KMS enforces a given KeyId (IncorrectKeyException); checked again here so a cached entry
        // can never stand for a key other than the one asked for.
        if (input.KeyId !== undefined && input.KeyId.startsWith('arn:') && out.KeyId !== input.KeyId) {
          throw new ServiceError('ERR_KMS_REJECTED', 'KMS answered Decrypt with another key than the one asked for');
        }
        keyId = out.KeyId;
        return this.#open(out.CiphertextForRecipient);
      },
      0,
      (key) => Uint8Array.from(key),
    );
    return { KeyId: keyId ?? input.KeyId, Plaintext: copy };
  }

  async generateDataKey(input: GenerateDataKeyCommandInput): Promise<PlaintextOutput & { CiphertextBlob: Uint8Array }> {
    const out = await this.#send('GenerateDataKey', async (Recipient) =>
      this.#options.client.send(new GenerateDataKeyCommand({ ...input, Recipient })),
    );
    if (out.CiphertextBlob === undefined) throw new ServiceError('ERR_KMS_REJECTED', 'GenerateDataKey returned no CiphertextBlob');
    return { KeyId: out.KeyId, Plaintext: this.#open(out.CiphertextForRecipient), CiphertextBlob: out.CiphertextBlob };
  }

  async generateRandom(input: GenerateRandomCommandInput): Promise<PlaintextOutput> {
    const out = await this.#send('GenerateRandom', async (Recipient) =>
      this.#options.client.send(new GenerateRandomCommand({ ...input, Recipient })),
    );
    return { Plaintext: this.#open(out.CiphertextForRecipient) };
  }

  /** Encrypt takes no Recipient (KMS model); the enclave may still wrap data under a key it may use. */
  async encrypt(input: EncryptCommandInput): Promise<EncryptCommandOutput> {
    return this.#send('Encrypt', async () => this.#options.client.send(new EncryptCommand(input)));
  }

  async #send<T>(operation: string, call: (recipient: RecipientInfo) => Promise<T>): Promise<T> {
    try {
      const AttestationDocument = await this.#options.attest();
      const result = await call({ KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument });
      this.#options.onCall?.(operation, 'ok');
      return result;
    } catch (error) {
      this.#options.onCall?.(operation, 'error');
      throw mapKmsError(error, operation);
    }
  }

  #open(cms: Uint8Array | undefined): Uint8Array {
    if (cms === undefined) {
      // KMS only omits it when the Recipient was not honoured: never accept a bare Plaintext.
      throw new ServiceError('ERR_KMS_REJECTED', 'KMS answered without CiphertextForRecipient');
    }
    return openCiphertextForRecipient(cms, this.#options.recipientKey);
  }
}

/** Identifies one wrapped data key: the blob, the key it claims and its encryption context. */
function decryptCacheKey(input: DecryptCommandInput): string {
  const hash = createHash('sha256');
  hash.update(input.CiphertextBlob ?? new Uint8Array());
  hash.update('\0');
  hash.update(input.KeyId ?? '');
  const context = Object.entries(input.EncryptionContext ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(JSON.stringify(context));
  return hash.digest('base64');
}
