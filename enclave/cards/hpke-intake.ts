/**
 * Tokenizing an HPKE-sealed card inside the enclave, with this sender policy:
 * open (Auth mode from an allowlisted producer, or Base mode only under public submission),
 * parse the card record, apply the per-(BIN, last 4) and overall rate limits to anonymous
 * submissions, then tokenize. The opened plaintext is zeroed as soon as it is parsed.
 *
 * Authenticated producers are not rate limited here: they are the operator's own systems, named in
 * the measured configuration; throttling them is the parent's job.
 */
import { ServiceError } from '../../shared/errors.js';
import type { SealedEnvelope } from '../../shared/hpke/envelope.js';
import type { HpkeRecipient } from '../../shared/hpke/open.js';
import { HPKE_INFO } from '../../shared/hpke/suite.js';
import { openSealedInput, type SenderPolicy } from '../hpke-open.js';
import { parseCardRecord } from './card-record.js';
import { cardBucketKey, type RateLimiter } from './rate-limit.js';
import { tokenizeCard, type CardTokenResult } from './tokenize-card.js';
import type { Tokenizer } from './tokenizer.js';

export interface HpkeCardIntake {
  recipient: HpkeRecipient;
  policy: SenderPolicy;
  /** Required when `policy.publicSubmission` is on. */
  limiter: RateLimiter | null;
  tokenizer: Tokenizer;
  now: () => number;
}

export async function tokenizeHpkeCard(envelope: SealedEnvelope, intake: HpkeCardIntake): Promise<CardTokenResult> {
  if (intake.policy.publicSubmission && intake.limiter === null) {
    throw new ServiceError('ERR_CONFIG', 'public submission needs a rate limiter');
  }
  const opened = await openSealedInput(intake.recipient, envelope, { info: HPKE_INFO.card, policy: intake.policy });
  let card;
  try {
    card = parseCardRecord(opened.plaintext);
  } finally {
    opened.plaintext.fill(0);
  }
  if (opened.sender === null) intake.limiter!.take(cardBucketKey(card.pan));
  return tokenizeCard(intake.tokenizer, card, intake.now());
}
