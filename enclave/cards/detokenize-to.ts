/**
 * detokenize-to (`POST /v1/cards/detokenize-to`): the enclave turns a token back into
 * its PAN and seals it with HPKE to a third party, e.g. a payment processor, so the PAN leaves the
 * enclave only encrypted to a recipient the operator named in the enclave's measured
 * configuration. The parent supplies the recipient key but cannot add one: the key's fingerprint
 * must be on the configured list.
 *
 * Auth mode (RFC 9180 §5.1.3) with the enclave's attested X25519 key as the sender: anyone can seal
 * to the processor's public key in Base mode, so a Base-mode answer could be the parent's, with a
 * PAN of its choosing in place of the victim's. The processor opens with the sender key read from a
 * verified attestation document (shared/hpke/detokenized.ts); a forgery does not open.
 *
 * - Fingerprint: lower-case hex SHA-256 of the raw 32-byte X25519 public key.
 * - Plaintext: UTF-8 JSON `{"pan": "<digits>"}`; info: HPKE_INFO.detokenize
 *   ("enclavekit/v1/detokenize"); aad: the UTF-8 token, so the recipient can check which token
 *   the PAN answers (opening fails under any other token).
 */
import { createHash } from 'node:crypto';
import { InputError } from '../../shared/errors.js';
import type { HpkeRecipient } from '../../shared/hpke/open.js';
import type { SealedMessage } from '../../shared/hpke/seal.js';
import { HPKE_INFO, HPKE_PUBLIC_KEY_BYTES } from '../../shared/hpke/suite.js';
import type { Tokenizer } from './tokenizer.js';

export function recipientFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex');
}

export interface DetokenizeToOptions {
  tokenizer: Tokenizer;
  /** Fingerprints (recipientFingerprint) from the enclave configuration. */
  allowedRecipients: ReadonlySet<string>;
  /** The enclave's attested HPKE key pair (its public key is in the attestation document's user_data). */
  sender: HpkeRecipient;
}

export async function detokenizeTo(token: string, recipientPublicKey: Uint8Array, options: DetokenizeToOptions): Promise<SealedMessage> {
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== HPKE_PUBLIC_KEY_BYTES) {
    throw new InputError('ERR_BAD_REQUEST', `recipient must be a ${HPKE_PUBLIC_KEY_BYTES}-byte X25519 public key`);
  }
  // Checked before detokenizing: an unlisted recipient causes no work on the PAN at all.
  if (!options.allowedRecipients.has(recipientFingerprint(recipientPublicKey))) {
    throw new InputError('ERR_RECIPIENT_NOT_ALLOWED', 'recipient is not allowed');
  }
  const pan = options.tokenizer.detokenize(token);
  const plaintext = new TextEncoder().encode(JSON.stringify({ pan }));
  try {
    return await options.sender.sealAsSender(recipientPublicKey, plaintext, { info: HPKE_INFO.detokenize, aad: new TextEncoder().encode(token) });
  } finally {
    plaintext.fill(0);
  }
}
