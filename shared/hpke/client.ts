/**
 * Client-side sealing to an enclave (docs/architecture.md "Trust model": clients verify the enclave's
 * attestation document themselves; the parent only carries it). Order matters:
 * 1. verify the document: signature, chain to the trusted root, expected PCRs (required here: a
 *    document with any PCRs proves nothing about the code that will see the card);
 * 2. read the enclave's HPKE public key from the verified document's user_data (user-data.ts);
 * 3. seal with HPKE, in Auth mode when the client has an allowlisted sender key.
 * The result is the JSON envelope of the parent's HTTP API: `{"card": {"hpke": <envelope>}}`.
 */
import { verifyAttestation, type VerifyOptions } from '../attestation/index.js';
import { AttestationError } from '../errors.js';
import { encodeSealedEnvelope, type SealedEnvelopeJson } from './envelope.js';
import { sealHpke } from './seal.js';
import { HPKE_INFO, hpkePublicKeyOf, type HpkePurpose } from './suite.js';
import { decodeHpkeUserData } from './user-data.js';

export interface CardInput {
  pan: string;
  /** "MM/YY" */
  exp: string;
  cvc?: string;
  name?: string;
}

export interface SealForEnclaveOptions {
  /** The enclave's attestation document, as the parent hands it out. */
  attestationDocument: Uint8Array;
  /** Verification options; `expectedPcrs` and `maxAgeMs` (or a `nonce`) are required, `anyPcrs` refused. */
  verify: VerifyOptions;
  /** Raw X25519 private key of an allowlisted producer: seals in Auth mode. Not retained. */
  senderKey?: Uint8Array;
}

/** Verifies the document, then seals `card` as JSON for the tokenize operation. */
export async function sealCardForEnclave(card: CardInput, options: SealForEnclaveOptions): Promise<SealedEnvelopeJson> {
  const json = JSON.stringify({
    pan: card.pan,
    exp: card.exp,
    ...(card.cvc === undefined ? {} : { cvc: card.cvc }),
    ...(card.name === undefined ? {} : { name: card.name }),
  });
  const plaintext = new TextEncoder().encode(json);
  try {
    return await sealForEnclave(plaintext, 'card', options);
  } finally {
    plaintext.fill(0);
  }
}

/** Verifies the document, then seals `plaintext` for `purpose` (HPKE_INFO). */
export async function sealForEnclave(plaintext: Uint8Array, purpose: HpkePurpose, options: SealForEnclaveOptions): Promise<SealedEnvelopeJson> {
  const { verify } = options;
  if (verify.anyPcrs === true || verify.expectedPcrs === undefined || Object.keys(verify.expectedPcrs).length === 0) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'sealing to an enclave requires expected PCRs');
  }
  // The parent hands out the document: without a freshness bound (or a nonce of the client's own)
  // it could replay an old one, and the client would seal to a key no running enclave holds.
  if (verify.maxAgeMs === undefined && verify.nonce === undefined) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'sealing to an enclave requires maxAgeMs or a nonce');
  }
  const verified = verifyAttestation(options.attestationDocument, verify);
  const { hpke } = decodeHpkeUserData(verified.userData);
  const sealed = await sealHpke(hpke.publicKey, plaintext, {
    info: HPKE_INFO[purpose],
    ...(options.senderKey === undefined ? {} : { senderPrivateKey: options.senderKey }),
  });
  const sender = options.senderKey === undefined ? undefined : await hpkePublicKeyOf(options.senderKey);
  return encodeSealedEnvelope({ ...sealed, ...(sender === undefined ? {} : { sender }) });
}
