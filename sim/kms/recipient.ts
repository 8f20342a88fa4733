/**
 * The `Recipient` request member of Decrypt, GenerateDataKey and GenerateRandom (docs/formats.md 5.2):
 * verify the attestation document, derive the `kms:RecipientAttestation:*` condition values, and
 * encrypt the answer to the document's public key as CiphertextForRecipient (docs/formats.md 5.3).
 *
 * Verification: the foundation verifier, anchored on the simulator's root, at the server's
 * clock, with a freshness window (default 5 minutes; KMS's own window is not documented,
 * docs/formats.md 5.5). `anyPcrs: true` because the key policy, not the verifier, decides which
 * measurements may use a key; `allowDebug: true` so that a debug-mode document verifies and then
 * fails the policy's PCR conditions (its PCR0..2 are zeros), exactly as it would in KMS.
 *
 * Only a document that verifies yields condition values. An invalid, stale or foreign-rooted
 * document yields none, so every statement conditioned on attestation fails (AccessDeniedException),
 * as KMS documents ("If the request does not include a valid attestation document … permission is
 * denied because this condition is not satisfied", conditions-nitro-enclave.html). When the policy
 * allows the caller anyway (no attestation condition), the simulator still refuses to answer: it
 * neither returns Plaintext to a caller who asked for a Recipient nor encrypts to an unverified
 * key. It sends ValidationException naming the verifier's code. Real KMS's error for that case is
 * UNCONFIRMED (docs/formats.md 5.5).
 */
import { createPublicKey } from 'node:crypto';
import { verifyAttestation, type VerifiedAttestation } from '../../shared/attestation/index.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { KmsFault } from './errors.js';
import { attestationConditionValues, nitroTpmConditionValues } from './policy/index.js';
import { buildCiphertextForRecipient, RECIPIENT_RSA_MAX_BITS, RECIPIENT_RSA_MIN_BITS } from './recipient-cms.js';
import type { RequestShape } from './shapes.js';

export const DEFAULT_ATTESTATION_MAX_AGE_MS = 5 * 60 * 1000;
const KEY_ENCRYPTION_ALGORITHMS = ['RSAES_OAEP_SHA_256'] as const;
/** KMS model: AttestationDocument 1..262144 bytes. */
const ATTESTATION_DOCUMENT_MAX_BYTES = 262_144;

export interface RecipientVerifierOptions {
  /** Trust anchors (PEM or DER): the simulator's Nitro root. */
  roots: readonly (string | Uint8Array)[];
  maxAgeMs: number;
}

export type RecipientOutcome =
  | { present: false }
  | { present: true; valid: true; attestation: VerifiedAttestation; conditions: Record<string, string> }
  | { present: true; valid: false; reason: string };

/** Reads and verifies the `Recipient` member (absent → `{present: false}`). */
export function readRecipient(
  shape: RequestShape,
  now: number,
  options: RecipientVerifierOptions,
): RecipientOutcome {
  const recipient = shape.structure('Recipient');
  if (recipient === undefined) return { present: false };
  // The model marks both members optional; sdk-c's docs require the document. An absent
  // algorithm means the only one there is.
  recipient.enumOf('KeyEncryptionAlgorithm', KEY_ENCRYPTION_ALGORITHMS);
  const doc = recipient.blob('AttestationDocument', { required: true, min: 1, max: ATTESTATION_DOCUMENT_MAX_BYTES });
  let attestation: VerifiedAttestation;
  try {
    attestation = verifyAttestation(doc, {
      at: now,
      roots: options.roots,
      anyPcrs: true,
      allowDebug: true,
      maxAgeMs: options.maxAgeMs,
      // KMS takes documents from Nitro Enclaves and from NitroTPM; each sets its own condition keys.
      nitroTpm: true,
    });
  } catch (error) {
    if (error instanceof EnclaveKitError) return { present: true, valid: false, reason: error.code };
    return { present: true, valid: false, reason: 'ERR_ATTESTATION_MALFORMED' };
  }
  const conditions = attestation.kind === 'nitrotpm' ? nitroTpmConditionValues(attestation.pcrs) : attestationConditionValues(attestation.pcrs);
  return { present: true, valid: true, attestation, conditions };
}

/**
 * After authorisation: the public key to encrypt to, or the refusal for a document that did not
 * verify. KMS requires an RSA key as a DER SubjectPublicKeyInfo (sdk-c RecipientRequest.md).
 */
export function recipientPublicKey(outcome: Extract<RecipientOutcome, { present: true }>): Uint8Array {
  if (!outcome.valid) {
    throw new KmsFault('ValidationException', `Recipient.AttestationDocument is not a valid attestation document (${outcome.reason})`);
  }
  const spki = outcome.attestation.publicKey;
  if (spki === null) {
    throw new KmsFault('ValidationException', 'Recipient.AttestationDocument has no public_key');
  }
  let bits: number | undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  } catch {
    bits = undefined;
  }
  if (bits === undefined || bits < RECIPIENT_RSA_MIN_BITS || bits > RECIPIENT_RSA_MAX_BITS) {
    throw new KmsFault(
      'ValidationException',
      `The public_key of Recipient.AttestationDocument must be an RSA key of ${RECIPIENT_RSA_MIN_BITS}..${RECIPIENT_RSA_MAX_BITS} bits as a DER SubjectPublicKeyInfo`,
    );
  }
  return spki;
}

/** CiphertextForRecipient: CMS EnvelopedData of `plaintext` to the document's RSA key. */
export function sealForRecipient(plaintext: Uint8Array, spki: Uint8Array): Uint8Array {
  return buildCiphertextForRecipient(plaintext, spki);
}
