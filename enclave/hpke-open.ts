/**
 * The enclave's policy for HPKE-sealed inputs (docs/architecture.md "Trust model": encrypted is not
 * authenticated). The enclave's HPKE public key is public by design, so the parent can seal too;
 * deterministic operations (tokens, blind indexes) must only answer authenticated producers:
 *
 * - Auth mode (RFC 9180 §5.1.3) with a sender public key from `allowedSenders` (the enclave's
 *   own measured configuration). With `sender` in the envelope the allowlist is checked before
 *   any decryption and the message is opened once; without it each allowlisted key is tried
 *   (one X25519 operation each) only while the list holds at most TRIAL_OPEN_MAX_SENDERS keys.
 * - Base mode only when `publicSubmission` is on; the caller must then apply the in-enclave rate
 *   limits (enclave/cards/rate-limit.ts). The result says which case applied (`sender: null`).
 * - A message that opens in Base mode while public submission is off is refused with
 *   ERR_SENDER_NOT_ALLOWED, and its plaintext is zeroed before the refusal.
 * - Anything that does not open: ERR_DECRYPT_FAILED (one message for every reason).
 */
import { DecryptionFailedError, InputError } from '../shared/errors.js';
import type { SealedEnvelope } from '../shared/hpke/envelope.js';
import type { HpkeRecipient } from '../shared/hpke/open.js';
import { HPKE_PUBLIC_KEY_BYTES } from '../shared/hpke/suite.js';

/** More allowlisted senders than this make trial opening too slow: require `sender` instead. */
export const MAX_ALLOWED_SENDERS = 64;
/**
 * Without `sender`, at most this many allowlisted keys are tried (one X25519 operation each), so
 * an anonymous item costs at most this + 1 opens however long the list: with a longer list,
 * Auth-mode envelopes must name their sender.
 */
export const TRIAL_OPEN_MAX_SENDERS = 4;

export interface SenderPolicy {
  /** Raw X25519 public keys of the producers allowed to seal in Auth mode. */
  readonly allowedSenders: readonly Uint8Array[];
  /** Accept Base-mode (anonymous) inputs, under rate limits. Off unless the operator opts in. */
  readonly publicSubmission: boolean;
}

export interface OpenedInput {
  plaintext: Uint8Array;
  /** The authenticated sender key (a copy), or null for a Base-mode public submission. */
  sender: Uint8Array | null;
}

export function checkSenderPolicy(policy: SenderPolicy): void {
  if (policy.allowedSenders.length > MAX_ALLOWED_SENDERS) {
    throw new RangeError(`at most ${MAX_ALLOWED_SENDERS} allowed senders`);
  }
  for (const key of policy.allowedSenders) {
    if (!(key instanceof Uint8Array) || key.length !== HPKE_PUBLIC_KEY_BYTES) {
      throw new RangeError(`allowed sender keys must be ${HPKE_PUBLIC_KEY_BYTES}-byte X25519 public keys`);
    }
  }
}

export async function openSealedInput(
  recipient: HpkeRecipient,
  sealed: SealedEnvelope,
  options: { info: string; aad?: Uint8Array; policy: SenderPolicy },
): Promise<OpenedInput> {
  const { policy } = options;
  checkSenderPolicy(policy);
  const base = { info: options.info, ...(options.aad === undefined ? {} : { aad: options.aad }) };

  if (sealed.sender !== undefined) {
    if (!policy.allowedSenders.some((key) => equalBytes(key, sealed.sender!))) {
      throw new InputError('ERR_SENDER_NOT_ALLOWED', 'sender is not allowed');
    }
    const opened = await recipient.open(sealed, { ...base, senderPublicKey: sealed.sender });
    return { plaintext: opened.plaintext, sender: opened.senderPublicKey };
  }

  const trial = policy.allowedSenders.length <= TRIAL_OPEN_MAX_SENDERS ? policy.allowedSenders : [];
  for (const key of trial) {
    try {
      const opened = await recipient.open(sealed, { ...base, senderPublicKey: key });
      return { plaintext: opened.plaintext, sender: opened.senderPublicKey };
    } catch (error) {
      if (!(error instanceof DecryptionFailedError)) throw error;
    }
  }

  // Not from an allowlisted sender. Base mode decides between "public submission" and "refused".
  const opened = await recipient.open(sealed, base);
  if (!policy.publicSubmission) {
    opened.plaintext.fill(0);
    throw new InputError('ERR_SENDER_NOT_ALLOWED', 'sender is not allowed');
  }
  return { plaintext: opened.plaintext, sender: null };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
