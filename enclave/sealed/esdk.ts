/**
 * Opens AWS Encryption SDK messages inside the enclave (issue 6, "Inputs the enclave accepts"):
 * `@aws-crypto/client-node` decrypts, its KMS keyring backed by the enclave's attested KMS client
 * (enclave/kms/attested-kms.ts: Recipient + CiphertextForRecipient, data-key cache), so repeated
 * records under one data key cost no KMS call.
 *
 * Order of work, so that nothing unauthenticated reaches KMS:
 * 1. esdk-header.ts walks the whole message with the ESDK's deserializers (malformed → 400, size).
 * 2. esdk-rules.ts: committing suite, a data key under the card key ARN (→ 403), the required
 *    encryption context (→ 400).
 * 3. The ESDK decrypts with a strict KMS keyring (`keyIds: [cardKeyArn]`, no discovery): only a data
 *    key wrapped by the card key is sent to KMS, whatever else the message lists.
 *
 * Errors: KMS failures keep the typed error the attested client raised (ERR_KMS_* 503/502, or
 * ERR_DECRYPT_FAILED for InvalidCiphertext); the ESDK's keyring swallows them into a generic Error,
 * so they are caught on the way through the client here. Every other failure once the message has
 * passed step 1 is cryptographic (header auth tag, key commitment, frame tag, signature) and is one
 * ERR_DECRYPT_FAILED. No message echoes input bytes; ESDK errors stay in `cause` for local logs.
 *
 * Plaintext: the returned buffer belongs to the caller, who should zero it when done. The ESDK
 * assembles it from stream chunks it does not zero; that is beyond this module's reach.
 */
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { DecryptionFailedError, EnclaveKitError } from '../../shared/errors.js';
import { mapKmsError } from '../kms/kms-errors.js';
import { inspectEsdkMessage } from './esdk-header.js';
import { checkEsdkAcceptance, checkRequiredContext, DEFAULT_REQUIRED_CONTEXT, type RequiredContext } from './esdk-rules.js';

/** What the KMS keyring sends (aws-crypto kms-keyring `DecryptRequest`). */
export interface EsdkDecryptInput {
  KeyId?: string;
  CiphertextBlob: Uint8Array;
  EncryptionContext?: Record<string, string>;
  GrantTokens?: string[];
}

/** The one method of an `AttestedKms` (or of the aggregated SDK `KMS` client) the ESDK needs here. */
export interface EsdkDecryptClient {
  decrypt(input: EsdkDecryptInput): Promise<{ KeyId?: string | undefined; Plaintext?: Uint8Array | undefined }>;
}

export interface OpenEsdkOptions {
  /** Normally the enclave's AttestedKms. */
  kms: EsdkDecryptClient;
  /** Full key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID): what an encrypted data key's provider info holds. */
  cardKeyArn: string;
  /** Key → required value, or null: present with any value. Default `{purpose: null}`. */
  requiredContext?: RequiredContext | undefined;
  /** Largest plaintext accepted, bytes. */
  maxBodyBytes: number;
  /** Encrypted data keys a message may list (ESDK maxEncryptedDataKeys). Default 10. */
  maxEncryptedDataKeys?: number | undefined;
  /** Accept only the signed committing suite (0x0578). Default false (see esdk-rules.ts). */
  requireSignedSuite?: boolean | undefined;
}

export interface OpenedEsdkRecord {
  plaintext: Uint8Array;
  /** The message's authenticated encryption context (for signed suites it includes `aws-crypto-public-key`). */
  encryptionContext: Record<string, string>;
  /** The KMS key that unwrapped the data key: always the configured card key. */
  keyArn: string;
}

export const DEFAULT_MAX_ENCRYPTED_DATA_KEYS = 10;

/** arn:PARTITION:kms:REGION:ACCOUNT:key/ID; aliases and bare ids never appear in provider info. */
const KMS_KEY_ARN_RE = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

/** buildClient validates and freezes its options: keep one per maxEncryptedDataKeys. */
const clients = new Map<number, ReturnType<typeof buildClient>>();
function esdkClient(maxEncryptedDataKeys: number): ReturnType<typeof buildClient> {
  let client = clients.get(maxEncryptedDataKeys);
  if (client === undefined) {
    client = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys });
    clients.set(maxEncryptedDataKeys, client);
  }
  return client;
}

export async function openEsdkRecord(message: Uint8Array, options: OpenEsdkOptions): Promise<OpenedEsdkRecord> {
  if (!(message instanceof Uint8Array)) throw new TypeError('openEsdkRecord: message must be a Uint8Array');
  const { cardKeyArn, maxBodyBytes } = options;
  if (!KMS_KEY_ARN_RE.test(cardKeyArn)) throw new RangeError('openEsdkRecord: cardKeyArn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError('openEsdkRecord: maxBodyBytes must be a positive integer');
  const maxEncryptedDataKeys = options.maxEncryptedDataKeys ?? DEFAULT_MAX_ENCRYPTED_DATA_KEYS;
  if (!Number.isSafeInteger(maxEncryptedDataKeys) || maxEncryptedDataKeys < 1) throw new RangeError('openEsdkRecord: maxEncryptedDataKeys must be a positive integer');
  const requiredContext = options.requiredContext ?? DEFAULT_REQUIRED_CONTEXT;

  const layout = inspectEsdkMessage(message, { maxEncryptedDataKeys, maxBodyBytes });
  checkEsdkAcceptance(layout, { cardKeyArn, requiredContext, requireSignedSuite: options.requireSignedSuite === true });

  const kms = new RecordingClient(options.kms);
  // Strict mode (keyIds, no discovery): the keyring filters encrypted data keys to this ARN
  // before calling KMS (aws-crypto kms-keyring `filterEDKs`).
  const keyring = new KmsKeyringNode({ keyIds: [cardKeyArn], clientProvider: () => kms });
  let opened;
  try {
    opened = await esdkClient(maxEncryptedDataKeys).decrypt(keyring, message, { maxBodySize: maxBodyBytes });
  } catch (error) {
    throw kms.failure() ?? new DecryptionFailedError({ cause: error });
  }

  const { plaintext, messageHeader } = opened;
  try {
    // The ESDK authenticated the header it decrypted with; it must say what step 2 checked.
    checkRequiredContext(messageHeader.encryptionContext, requiredContext);
    if (plaintext.byteLength !== layout.plaintextBytes) throw new DecryptionFailedError();
  } catch (error) {
    plaintext.fill(0);
    throw error;
  }
  return { plaintext, encryptionContext: { ...messageHeader.encryptionContext }, keyArn: kms.keyArn ?? cardKeyArn };
}

/**
 * Passes the keyring's Decrypt calls through and keeps what they threw: the keyring only reports
 * "Unable to decrypt data key" with the stacks pasted in, and the typed error would be lost.
 * Encrypt / GenerateDataKey exist for the keyring's type only; decryption never calls them.
 */
class RecordingClient {
  readonly #inner: EsdkDecryptClient;
  readonly #failures: unknown[] = [];
  #succeeded = false;
  keyArn: string | undefined;

  constructor(inner: EsdkDecryptClient) {
    this.#inner = inner;
  }

  async decrypt(input: EsdkDecryptInput): Promise<{ KeyId?: string; Plaintext?: Uint8Array }> {
    try {
      const { KeyId, Plaintext } = await this.#inner.decrypt(input);
      this.#succeeded = true;
      this.keyArn = KeyId;
      // The keyring checks both (KeyId equal to the data key's provider info, Plaintext a Uint8Array).
      return { ...(KeyId === undefined ? {} : { KeyId }), ...(Plaintext === undefined ? {} : { Plaintext }) };
    } catch (error) {
      this.#failures.push(error);
      throw error;
    }
  }

  encrypt(): never {
    throw new TypeError('the enclave never encrypts with the ESDK keyring');
  }

  generateDataKey(): never {
    throw new TypeError('the enclave never encrypts with the ESDK keyring');
  }

  /** The typed KMS failure to report when no data key was obtained: unavailability first (retryable). */
  failure(): EnclaveKitError | undefined {
    if (this.#succeeded || this.#failures.length === 0) return undefined;
    const typed = this.#failures.map((error) => mapKmsError(error, 'Decrypt'));
    return typed.find((error) => error.status === 503) ?? typed[0];
  }
}
