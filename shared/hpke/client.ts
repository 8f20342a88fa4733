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
import { hpkePublicKeyOf, sealedInputInfo, type SealedPurpose } from './suite.js';
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
  /**
   * Verification options: `expectedPcrs` must include PCR0 (the image), `at` must be a real time
   * (not 'document'), and `maxAgeMs` (or a `nonce`) is required; `anyPcrs` and `allowDebug` are refused.
   */
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
    return await sealForEnclave(plaintext, { purpose: 'card' }, options);
  } finally {
    plaintext.fill(0);
  }
}

/** What a sealed input is for: the operation and, for `pii-value`, the field (bound into HPKE `info`). */
export interface SealTarget {
  purpose: SealedPurpose;
  field?: string;
}

/** Verifies the document, then seals `plaintext` for `target` (suite.ts sealedInputInfo). */
export async function sealForEnclave(plaintext: Uint8Array, target: SealTarget, options: SealForEnclaveOptions): Promise<SealedEnvelopeJson> {
  const { verify } = options;
  checkStrictVerifyOptions(verify);
  const info = sealedInputInfo(target.purpose, target.field);
  const verified = verifyAttestation(options.attestationDocument, verify);
  const { hpke } = decodeHpkeUserData(verified.userData);
  const sealed = await sealHpke(hpke.publicKey, plaintext, {
    info,
    ...(options.senderKey === undefined ? {} : { senderPrivateKey: options.senderKey }),
  });
  const sender = options.senderKey === undefined ? undefined : await hpkePublicKeyOf(options.senderKey);
  return encodeSealedEnvelope({ ...sealed, ...(sender === undefined ? {} : { sender }) });
}

/**
 * The policy a client must hold an attestation document to before trusting a key in it (with the
 * parent carrying the document, anything weaker lets the parent choose the key):
 * - PCR0 (the enclave image) among the expected PCRs: PCRs the enclave extends itself (PCR16 and
 *   up) or PCR1 alone (the kernel) are reproducible by any enclave, including one the parent built;
 * - a verification time of the client's own (`at: 'document'` checks the chain at the time the
 *   document claims, so an old document, and the old key in it, is good forever);
 * - a freshness bound (`maxAgeMs`) or the client's own nonce;
 * - no `anyPcrs`, no `allowDebug` (debug-mode enclaves can be inspected by the parent);
 * - no `nitroTpm`: a NitroTPM document is signed by the same AWS root but comes from an EC2
 *   instance, which a compromised host may be, with a `user_data` of its choosing.
 */
export function checkStrictVerifyOptions(verify: VerifyOptions): void {
  if (verify.anyPcrs === true || verify.expectedPcrs === undefined || Object.keys(verify.expectedPcrs).length === 0) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'trusting an enclave key requires expected PCRs');
  }
  if (!Object.hasOwn(verify.expectedPcrs, 0) && !Object.hasOwn(verify.expectedPcrs, '0')) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'expectedPcrs must include PCR0 (the enclave image)');
  }
  if (verify.at === 'document') {
    throw new AttestationError('ERR_ATTESTATION_POLICY', "at: 'document' is refused: pass the current time");
  }
  if (verify.allowDebug === true) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'allowDebug is refused: a debug-mode enclave is readable by its host');
  }
  if (verify.nitroTpm === true) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'nitroTpm is refused: only a Nitro Enclave document may vouch for an enclave key');
  }
  // The parent hands out the document: without a freshness bound (or a nonce of the client's own)
  // it could replay an old one, and the client would trust a key no running enclave holds.
  if (verify.maxAgeMs === undefined && verify.nonce === undefined) {
    throw new AttestationError('ERR_ATTESTATION_POLICY', 'trusting an enclave key requires maxAgeMs or a nonce');
  }
}
