/**
 * Opens `kmsRsa` inputs (shared/sealed/kms-rsa-format.ts) inside the enclave: the wrapped secret is
 * unwrapped by KMS `Decrypt` (RSAES_OAEP_SHA_256) through the enclave's attested client, which
 * always sends `Recipient` and caches the answer in the data-key cache (enclave/kms/attested-kms.ts:
 * keyed by a hash of the wrapped bytes and the key ARN, with the cache's limits and zeroing), so
 * messages that share a wrapped secret cost one KMS call between them.
 *
 * Order of work: shape and size (400/413), then the key id against the configured key's pin
 * (403, before any KMS call), then KMS, then the tag under the operation's label (a wrong purpose
 * or field, or any flipped byte: ERR_DECRYPT_FAILED), and only then decryption. No plaintext exists
 * before the tag has been checked.
 */
import { DecryptionFailedError, InputError } from '../../shared/errors.js';
import { KMS_RSA_SECRET_BYTES, kmsRsaCtr, kmsRsaTag, kmsRsaTagMatches, parseKmsRsaSealed } from '../../shared/sealed/kms-rsa-format.js';
import { mapKmsError } from '../kms/kms-errors.js';
import type { EsdkDecryptInput } from './esdk.js';

/** The Decrypt call made here; the enclave's AttestedKms has this shape. */
export interface KmsRsaDecryptClient {
  decrypt(input: EsdkDecryptInput & { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }): Promise<{ KeyId?: string | undefined; Plaintext?: Uint8Array | undefined }>;
}

/** The accepted RSA key: its ARN and the SHA-256 (hex) of its SubjectPublicKeyInfo (the key id of every input). */
export interface KmsRsaKeyPin {
  keyArn: string;
  publicKeySha256: string;
}

export interface OpenKmsRsaOptions {
  kms: KmsRsaDecryptClient;
  /** Absent: this enclave accepts no kmsRsa input. */
  key: KmsRsaKeyPin | undefined;
  purpose: string;
  field?: string | undefined;
  /** Largest plaintext accepted, bytes. */
  maxBytes: number;
}

/** The plaintext, which the caller zeroes when done. */
export async function openKmsRsaInput(bytes: Uint8Array, options: OpenKmsRsaOptions): Promise<Uint8Array> {
  const parts = parseKmsRsaSealed(bytes, options.maxBytes);
  const { key } = options;
  if (key === undefined) throw new InputError('ERR_SENDER_NOT_ALLOWED', 'kmsRsa: this enclave accepts no input sealed to a KMS RSA key');
  if (Buffer.from(parts.keyId).toString('hex') !== key.publicKeySha256) {
    throw new InputError('ERR_SENDER_NOT_ALLOWED', 'kmsRsa: key id is not the configured RSA key (cards.rsaKey.publicKeySha256)');
  }
  let out: Awaited<ReturnType<KmsRsaDecryptClient['decrypt']>>;
  try {
    out = await options.kms.decrypt({ KeyId: key.keyArn, CiphertextBlob: parts.wrappedSecret, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
  } catch (error) {
    // The attested client already raises typed errors; this keeps any other client's in the family.
    throw mapKmsError(error, 'Decrypt');
  }
  const secret = out.Plaintext;
  try {
    if (secret === undefined || secret.byteLength !== KMS_RSA_SECRET_BYTES) throw new DecryptionFailedError();
    // The attested client checks KMS answered for the ARN asked for; a wrapped secret under any
    // other key fails in KMS (InvalidCiphertextException → ERR_DECRYPT_FAILED).
    const expected = kmsRsaTag(secret.subarray(32), options.purpose, options.field, parts.authenticated);
    if (!kmsRsaTagMatches(expected, parts.tag)) throw new DecryptionFailedError();
    return kmsRsaCtr(secret.subarray(0, 32), parts.iv, parts.ciphertext);
  } finally {
    secret?.fill(0);
  }
}
