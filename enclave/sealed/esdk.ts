/**
 * Opens AWS Encryption SDK messages inside the enclave ("Inputs the enclave accepts"):
 * the ESDK (`@aws-crypto/decrypt-node`) decrypts, its KMS keyring backed by the enclave's attested KMS client
 * (enclave/kms/attested-kms.ts: Recipient + CiphertextForRecipient, data-key cache), so repeated
 * records under one data key cost no KMS call.
 *
 * Order of work, so that nothing unauthenticated reaches KMS:
 * 1. esdk-header.ts walks the whole message with the ESDK's deserializers (malformed → 400,
 *    plaintext over maxBodyBytes → 413).
 * 2. esdk-rules.ts: committing suite, a data key under the card key ARN (→ 403), the required
 *    encryption context (→ 400).
 * 3. The unsigned committing suite (0x0478) is decrypted by esdk-fast.ts, which repeats the
 *    library's steps directly (and is tested against it message for message); otherwise:
 *    the ESDK decrypts with a strict KMS keyring (`keyIds: [cardKeyArn]`, no discovery): only a data
 *    key wrapped by the card key is sent to KMS, whatever else the message lists. A per-call CMM in
 *    front of it applies step 2 again to the header as the ESDK itself parsed it, before KMS.
 *
 * Errors: KMS failures keep the typed error the attested client raised (ERR_KMS_* 503/502, or
 * ERR_DECRYPT_FAILED for InvalidCiphertext); the ESDK's keyring swallows them into an untyped
 * Error, so RecordingClient keeps them for the call that met them. Every other failure once the
 * message has passed step 1 is cryptographic (header auth tag, key commitment, frame tag,
 * signature) and is one ERR_DECRYPT_FAILED. No message echoes input bytes; ESDK errors stay in
 * `cause` for local logs.
 *
 * Plaintext: the returned buffer belongs to the caller, who should zero it when done. The ESDK
 * assembles it from stream chunks it does not zero; that is beyond this module's reach.
 */
// The scoped ESDK packages, not @aws-crypto/client-node: that one also pulls in the encrypt side,
// the raw keyrings and the hierarchical keyring's branch keystore with its DynamoDB client, none of
// which the enclave runs (docs/deploy.md, "What the enclave bundle contains").
import { buildDecrypt } from '@aws-crypto/decrypt-node';
import { KmsKeyringNode } from '@aws-crypto/kms-keyring-node';
import {
  CommitmentPolicy,
  NodeDefaultCryptographicMaterialsManager,
  type EncryptedDataKey,
  type NodeMaterialsManager,
} from '@aws-crypto/material-management-node';
import { DecryptionFailedError, EnclaveKitError, toEnclaveKitError } from '../../shared/errors.js';
import { mapKmsError } from '../kms/kms-errors.js';
import { decryptUnsignedCommitting, fastPathApplies } from './esdk-fast.js';
import { inspectEsdkMessage } from './esdk-header.js';
import { VerificationKeyCachingCmm } from './verification-key-cache.js';
import { checkEsdkAcceptance, type RequiredContext } from './esdk-rules.js';

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
  /** Key → required value, or null: present with any value; `purpose` always has its value. */
  requiredContext: RequiredContext;
  /** Largest plaintext accepted, bytes. */
  maxBodyBytes: number;
  /** Encrypted data keys a message may list (ESDK maxEncryptedDataKeys). Default 10. */
  maxEncryptedDataKeys?: number | undefined;
  /** Accept only the signed committing suite (0x0578). Default false (see esdk-rules.ts). */
  requireSignedSuite?: boolean | undefined;
  /** Decrypt with the library even where esdk-fast.ts applies (for comparisons). Default false. */
  useLibrary?: boolean | undefined;
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

/** buildDecrypt validates and freezes its options: keep one per maxEncryptedDataKeys. */
const clients = new Map<number, ReturnType<typeof buildDecrypt>>();
function esdkClient(maxEncryptedDataKeys: number): ReturnType<typeof buildDecrypt> {
  let client = clients.get(maxEncryptedDataKeys);
  if (client === undefined) {
    client = buildDecrypt({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys });
    clients.set(maxEncryptedDataKeys, client);
  }
  return client;
}

export async function openEsdkRecord(input: Uint8Array, options: OpenEsdkOptions): Promise<OpenedEsdkRecord> {
  if (!(input instanceof Uint8Array)) throw new TypeError('openEsdkRecord: message must be a Uint8Array');
  // A Buffer over the same bytes, not a copy: the ESDK's deserializers cut the header into fields
  // with `.slice`, which copies a plain Uint8Array into a new ArrayBuffer per field (seven or more
  // per message) but is a view on a Buffer. Nothing here or in the ESDK writes to the message; the
  // header fields are read again after the KMS call, so the caller leaves the bytes alone until
  // the returned promise settles (every caller here does).
  const message = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { cardKeyArn, maxBodyBytes } = options;
  if (!KMS_KEY_ARN_RE.test(cardKeyArn)) throw new RangeError('openEsdkRecord: cardKeyArn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError('openEsdkRecord: maxBodyBytes must be a positive integer');
  const maxEncryptedDataKeys = options.maxEncryptedDataKeys ?? DEFAULT_MAX_ENCRYPTED_DATA_KEYS;
  if (!Number.isSafeInteger(maxEncryptedDataKeys) || maxEncryptedDataKeys < 1) throw new RangeError('openEsdkRecord: maxEncryptedDataKeys must be a positive integer');
  const { requiredContext } = options;
  // A programming error, not the sender's: without a purpose any operation's message would open.
  if (typeof requiredContext?.purpose !== 'string' || requiredContext.purpose === '') throw new RangeError('openEsdkRecord: requiredContext.purpose must name the operation');

  const rules = { cardKeyArn, requiredContext, requireSignedSuite: options.requireSignedSuite === true };

  const layout = inspectEsdkMessage(message, { maxEncryptedDataKeys, maxBodyBytes });
  checkEsdkAcceptance(layout, rules);

  // The unsigned committing suite is decrypted directly (esdk-fast.ts), after the same checks.
  if (fastPathApplies(layout) && options.useLibrary !== true) {
    const plaintext = await decryptUnsignedCommitting(message, layout, options.kms, cardKeyArn);
    return { plaintext: new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength), encryptionContext: { ...layout.encryptionContext }, keyArn: cardKeyArn };
  }

  const { cmm: keyringCmm, recorder } = sharedMaterials(options.kms, cardKeyArn);
  let failure: EnclaveKitError | undefined;
  // Per call (a plain object, cheap), wrapping the shared one: catches this call's refusal or
  // KMS failure, which the ESDK would otherwise turn into an untyped Error.
  // Promise chains rather than async functions here and in RecordingClient: every async frame on
  // this path costs per record, and the checks above are the budget (`npm run bench -- esdk`).
  const cmm: NodeMaterialsManager = {
    decryptMaterials(request) {
      const { suite, encryptedDataKeys, encryptionContext } = request;
      try {
        // The header the ESDK parsed and will authenticate passes the same rules (it is the same
        // bytes read by the same deserializer; this keeps it so whatever the ESDK does inside).
        checkEsdkAcceptance(
          { suiteId: suite.id, committing: suite.commitment === 'KEY', signed: suite.signatureCurve !== undefined, encryptedDataKeys, encryptionContext },
          rules,
        );
      } catch (error) {
        failure = toEnclaveKitError(error);
        return Promise.reject(failure);
      }
      return keyringCmm.decryptMaterials(request).catch((error: unknown) => {
        failure = recorder.failureFor(encryptedDataKeys, cardKeyArn, encryptionContext);
        throw error;
      });
    },
    getEncryptionMaterials() {
      throw new TypeError('the enclave never encrypts ESDK messages');
    },
  };

  let opened;
  try {
    opened = await esdkClient(maxEncryptedDataKeys).decrypt(cmm, message, { maxBodySize: maxBodyBytes });
  } catch (error) {
    throw failure ?? new DecryptionFailedError({ cause: error });
  }
  const { plaintext, messageHeader } = opened;
  if (plaintext.byteLength !== layout.plaintextBytes) {
    // Cannot happen with the frames walked above; refuse rather than trust either count.
    plaintext.fill(0);
    throw new DecryptionFailedError();
  }
  // The keyring only unwraps data keys whose provider info is in keyIds, and checks that KMS
  // answered for that key (kms-keyring `_onDecrypt`): the key is the card key.
  return { plaintext, encryptionContext: { ...messageHeader.encryptionContext }, keyArn: cardKeyArn };
}

interface SharedMaterials {
  cmm: NodeDefaultCryptographicMaterialsManager;
  recorder: RecordingClient;
}

/**
 * One strict keyring and CMM per (client, card key), reused: a new KmsKeyringNode (and the CMM the
 * ESDK wraps it in) per message cost 10-30 µs of CPU per record in ad-hoc profiles on the shared
 * 2-core dev machine, as much as all the checks here. Weakly keyed by the client, so a dropped
 * client takes its keyrings with it.
 */
const sharedByClient = new WeakMap<EsdkDecryptClient, Map<string, SharedMaterials>>();

function sharedMaterials(kms: EsdkDecryptClient, cardKeyArn: string): SharedMaterials {
  let byArn = sharedByClient.get(kms);
  if (byArn === undefined) {
    byArn = new Map();
    sharedByClient.set(kms, byArn);
  }
  let shared = byArn.get(cardKeyArn);
  if (shared === undefined) {
    const recorder = new RecordingClient(kms);
    // Strict mode (keyIds, no discovery): the keyring filters encrypted data keys to this ARN
    // before calling KMS (aws-crypto kms-keyring `filterEDKs`).
    const keyring = new KmsKeyringNode({ keyIds: [cardKeyArn], clientProvider: () => recorder });
    // The default CMM, keeping decoded signer keys (verification-key-cache.ts: ~3.5 ms per signed record otherwise).
    shared = { cmm: new VerificationKeyCachingCmm(keyring), recorder };
    byArn.set(cardKeyArn, shared);
  }
  return shared;
}

/** Failed KMS requests remembered for attribution; a burst of more is a KMS outage anyway. */
const MAX_REMEMBERED_FAILURES = 256;

/**
 * Passes the keyring's Decrypt calls through and remembers what they threw: the keyring only
 * reports "Unable to decrypt data key" with the stacks pasted in, and the typed error would be lost.
 *
 * Shared by every call for one (client, card key), so a failure is found again by what was asked
 * (CiphertextBlob, KeyId, encryption context), computed on the failure path only. It is looked up
 * only when the CMM failed, and the keyring asks KMS for every card-key data key before the CMM can
 * fail (the one earlier step, the signed suites' verification key, depends on the context, which
 * is part of the request): so an entry found is this call's outcome, or that of a concurrent call
 * making the very same request (which the attested client serves with one KMS call anyway).
 * The newest outcome of a request replaces the older one (a success removes the entry).
 * Encrypt / GenerateDataKey exist for the keyring's type only; decryption never calls them.
 */
class RecordingClient {
  readonly #inner: EsdkDecryptClient;
  readonly #failures = new Map<string, unknown>();

  constructor(inner: EsdkDecryptClient) {
    this.#inner = inner;
  }

  decrypt(input: EsdkDecryptInput): Promise<{ KeyId?: string; Plaintext?: Uint8Array }> {
    let pending: ReturnType<EsdkDecryptClient['decrypt']>;
    try {
      pending = this.#inner.decrypt(input);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return pending.then(
      ({ KeyId, Plaintext }) => {
        // A success supersedes an older failure of the same request (computed only if there is any).
        if (this.#failures.size > 0) this.#failures.delete(requestId(input.CiphertextBlob, input.KeyId, input.EncryptionContext ?? {}));
        // The keyring checks both (KeyId equal to the data key's provider info, Plaintext a Uint8Array).
        const out: { KeyId?: string; Plaintext?: Uint8Array } = {};
        if (KeyId !== undefined) out.KeyId = KeyId;
        if (Plaintext !== undefined) out.Plaintext = Plaintext;
        return out;
      },
      (error: unknown) => {
        const id = requestId(input.CiphertextBlob, input.KeyId, input.EncryptionContext ?? {});
        this.#failures.delete(id);
        this.#failures.set(id, error);
        if (this.#failures.size > MAX_REMEMBERED_FAILURES) this.#failures.delete(this.#failures.keys().next().value!);
        throw error;
      },
    );
  }

  encrypt(): never {
    throw new TypeError('the enclave never encrypts with the ESDK keyring');
  }

  generateDataKey(): never {
    throw new TypeError('the enclave never encrypts with the ESDK keyring');
  }

  /** The typed KMS failure for the card-key data keys of a message, if any: unavailability first (retryable). */
  failureFor(keys: readonly EncryptedDataKey[], keyArn: string, context: Readonly<Record<string, string>>): EnclaveKitError | undefined {
    const typed: EnclaveKitError[] = [];
    for (const key of keys) {
      if (key.providerInfo !== keyArn) continue;
      const id = requestId(key.encryptedDataKey, keyArn, context);
      if (this.#failures.has(id)) typed.push(mapKmsError(this.#failures.get(id), 'Decrypt'));
    }
    return typed.find((error) => error.status === 503) ?? typed[0];
  }
}

function requestId(blob: Uint8Array, keyId: string | undefined, context: Readonly<Record<string, string>>): string {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64')}\0${keyId ?? ''}\0${JSON.stringify(entries)}`;
}
