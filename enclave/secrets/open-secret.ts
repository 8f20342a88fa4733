/**
 * Opens one stored sealed secret: base64 → KMS CiphertextBlob → attested Decrypt (Recipient)
 * under exactly the configured key and the context that names this store and secret
 * (shared/secrets/sealed-secret.ts). A ciphertext moved from another secret's slot carries
 * another name in its context, so KMS refuses it (ERR_DECRYPT_FAILED).
 */
import { InputError, ServiceError } from '../../shared/errors.js';
import { MAX_SECRET_BYTES, secretEncryptionContext } from '../../shared/secrets/sealed-secret.js';
import type { AttestedKms } from '../kms/attested-kms.js';
import type { SecretItem } from './store-source.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export async function openSealedSecret(kms: Pick<AttestedKms, 'decrypt'>, keyArn: string, item: SecretItem, stored: string): Promise<Uint8Array> {
  const text = stored.trim();
  if (text.length === 0 || !BASE64.test(text)) throw new InputError('ERR_SEALED_INPUT_MALFORMED', 'secret: the stored value is not base64 KMS ciphertext');
  const { Plaintext, KeyId } = await kms.decrypt(
    { CiphertextBlob: new Uint8Array(Buffer.from(text, 'base64')), KeyId: keyArn, EncryptionContext: secretEncryptionContext(item.store, item.name) },
    { cache: false },
  );
  if (KeyId !== keyArn || Plaintext.length > MAX_SECRET_BYTES) {
    Plaintext.fill(0);
    throw new ServiceError('ERR_KMS_REJECTED', KeyId !== keyArn ? 'secret: KMS answered with another key than secrets.keyArn' : `secret: plaintext over ${MAX_SECRET_BYTES} bytes`);
  }
  return Plaintext;
}
