/**
 * The recipient side of detokenize-to (docs/api.md): a payment processor opens the enclave's answer
 * only after checking who sealed it. The enclave seals in HPKE Auth mode (RFC 9180 §5.1.3) with its
 * attested X25519 key as the sender; anyone, the parent included, can seal to the processor's public
 * key, so opening in Base mode, or trusting a sender key that no verified document names, would
 * accept a PAN the parent chose. Order:
 * 1. hold the verification options to the strict client policy (PCR0, own clock, freshness, no
 *    debug: client.ts checkStrictVerifyOptions);
 * 2. verify the attestation document (the answer carries the answering enclave's own);
 * 3. open in Auth mode with the HPKE key from its user_data, `info` = HPKE_INFO.detokenize and
 *    `aad` = the token, so the answer for one token cannot pass as the answer for another.
 * Every failure to open is ERR_DECRYPT_FAILED; a document that fails is its attestation error.
 */
import { verifyAttestation, type VerifyOptions } from '../attestation/index.js';
import { InputError } from '../errors.js';
import { checkStrictVerifyOptions } from './client.js';
import type { HpkeRecipient } from './open.js';
import { HPKE_INFO } from './suite.js';
import { decodeHpkeUserData } from './user-data.js';

/** The JSON answer of POST /v1/cards/detokenize-to. */
export interface DetokenizeToAnswer {
  recipient: string;
  enc: string;
  ciphertext: string;
  /** Base64 attestation document of the enclave that answered. */
  attestation: string;
}

export interface OpenDetokenizedOptions {
  /** The token that was sent: the answer is bound to it. */
  token: string;
  /** The processor's own key pair (HpkeRecipient.fromPrivateKey). */
  recipient: HpkeRecipient;
  /** Strict verification options (expected PCRs with PCR0, roots, at, maxAgeMs or nonce). */
  verify: VerifyOptions;
  /** A document to use instead of the answer's own (for example one fetched with your nonce). */
  attestationDocument?: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Returns the PAN; the decrypted bytes are zeroed before returning. */
export async function openDetokenized(answer: DetokenizeToAnswer, options: OpenDetokenizedOptions): Promise<{ pan: string }> {
  checkStrictVerifyOptions(options.verify);
  const document = options.attestationDocument ?? new Uint8Array(Buffer.from(answer.attestation ?? '', 'base64'));
  const verified = verifyAttestation(document, options.verify);
  const { hpke } = decodeHpkeUserData(verified.userData);
  const sealed = { enc: new Uint8Array(Buffer.from(answer.enc, 'base64')), ciphertext: new Uint8Array(Buffer.from(answer.ciphertext, 'base64')) };
  const opened = await options.recipient.open(sealed, { info: HPKE_INFO.detokenize, aad: new TextEncoder().encode(options.token), senderPublicKey: hpke.publicKey });
  try {
    const parsed = JSON.parse(utf8.decode(opened.plaintext)) as { pan?: unknown };
    if (typeof parsed.pan !== 'string' || !/^\d{12,19}$/.test(parsed.pan)) throw new InputError('ERR_SEALED_INPUT_MALFORMED', 'detokenized answer: pan must be 12-19 digits');
    return { pan: parsed.pan };
  } finally {
    opened.plaintext.fill(0);
  }
}
