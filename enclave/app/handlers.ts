/**
 * The card and PII operations (docs/api.md), registered on the enclave's operation registry.
 * Every answer is derived (tokens, BIN/last 4, brand, flags, redacted text, keyed digests, a
 * ciphertext for an allowlisted recipient): no operation returns plaintext to the parent.
 * Anonymous (HPKE Base-mode) input, when public submission is on, reaches card tokenization under
 * the in-enclave rate limits and redaction (no key involved: it only hands back the sender's own
 * text, masked); blind indexes refuse it (docs/architecture.md "Trust model").
 */
import { z } from 'zod';
import { InputError, toEnclaveKitError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { CARD_RECORD_MAX_BYTES, parseCardRecord } from '../cards/card-record.js';
import { detokenizeTo, recipientFingerprint } from '../cards/detokenize-to.js';
import { RateLimiter, cardBucketKey, checkPublicPanLength } from '../cards/rate-limit.js';
import { tokenizeCard, type CardTokenResult } from '../cards/tokenize-card.js';
import { Tokenizer } from '../cards/tokenizer.js';
import { BlindIndexer, BLIND_INDEX_FIELDS, BLIND_INDEX_VALUE_MAX_CHARS } from '../pii/blind-index.js';
import { REDACT_MAX_CHARS, redact } from '../pii/redact.js';
import type { EnclaveConfig } from '../config.js';
import type { EnclaveServices } from '../runtime.js';
import type { HandlerRegistry } from './registry.js';
import { sealedInputSchema, withBuiltinInput, type SealedInput, type SealedInputContext } from './sealed-input.js';

/** Sealed items processed at once within one batch (KMS calls are cached; this bounds memory). */
const BATCH_CONCURRENCY = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type CardsConfig = NonNullable<EnclaveConfig['cards']>;

/**
 * How the enclave opens sealed inputs under the `cards` configuration: the card key for ESDK
 * messages, the enclave's HPKE key, the allowlisted Auth-mode senders and the public-submission
 * switch. Custom handlers use it with `withOpenedInput` (docs/api.md, "Custom handlers").
 * Key sizes and counts are checked by the config schema (enclave/config.ts), so a bad key stops
 * the boot with ERR_CONFIG.
 */
export function sealedInputContext(services: Pick<EnclaveServices, 'kms' | 'identity'>, cards: Readonly<CardsConfig>): SealedInputContext {
  const senderPolicy = {
    allowedSenders: cards.hpkeSenders.map((k) => new Uint8Array(Buffer.from(k, 'base64'))),
    publicSubmission: cards.publicSubmission.enabled,
  };
  return { kms: services.kms, cardKeyArn: cards.cardKeyArn, rsaKey: cards.rsaKey, recipient: services.identity.hpke, senderPolicy };
}

export function registerBuiltinHandlers(registry: HandlerRegistry, services: EnclaveServices, config: Readonly<EnclaveConfig>, now: () => number = Date.now): void {
  const cards = config.cards;
  if (cards === undefined) return;
  const sealedCtx = sealedInputContext(services, cards);
  const limiter = new RateLimiter(
    {
      perKey: { capacity: cards.publicSubmission.perCardBurst, refillPerSecond: cards.publicSubmission.perCardPerHour / 3600 },
      overall: { capacity: cards.publicSubmission.overallBurst, refillPerSecond: cards.publicSubmission.overallPerSecond },
      maxTrackedKeys: 100_000,
    },
    now,
  );
  const tokenizer = (): Tokenizer => services.keys.derive('tokenization', (key) => new Tokenizer(key));
  const indexer = (): BlindIndexer => services.keys.derive('blind-index', (key) => new BlindIndexer(key, { defaultCountryCode: cards.phoneCountryCode }));
  const recipients = new Map(Object.entries(cards.detokenizeRecipients).map(([name, b64]) => [name, new Uint8Array(Buffer.from(b64, 'base64'))]));
  const allowedRecipients = new Set([...recipients.values()].map(recipientFingerprint));

  const tokenizeOne = (input: SealedInput): Promise<CardTokenResult> =>
    withBuiltinInput(input, { purpose: 'card', maxBytes: CARD_RECORD_MAX_BYTES }, sealedCtx, ({ plaintext, origin }) => {
      const card = parseCardRecord(plaintext);
      // Anonymous submissions are an oracle: only PAN lengths with enough middles, rate limited
      // per (BIN, last 4) and overall (enclave/cards/rate-limit.ts).
      if (origin === 'hpke-public') {
        checkPublicPanLength(card.pan);
        limiter.take(cardBucketKey(card.pan));
      }
      return tokenizeCard(tokenizer(), card, now());
    });

  registry.register({ op: 'cards.tokenize', input: z.strictObject({ card: sealedInputSchema }), handle: ({ card }) => tokenizeOne(card) });

  registry.register({
    op: 'cards.tokenize-batch',
    input: z.strictObject({ cards: z.array(sealedInputSchema).min(1).max(LIMITS.batchMaxItems) }),
    handle: async ({ cards: items }) => ({ results: await mapLimited(items, BATCH_CONCURRENCY, (item) => settle(tokenizeOne(item))) }),
  });

  registry.register({
    op: 'cards.detokenize-to',
    input: z.strictObject({ token: z.string().regex(/^\d{12,19}$/), recipient: z.string().min(1).max(64) }),
    handle: async ({ token, recipient }) => {
      const key = recipients.get(recipient);
      if (key === undefined) throw new InputError('ERR_RECIPIENT_NOT_ALLOWED', 'recipient is not allowed');
      const sealed = await detokenizeTo(token, key, { tokenizer: tokenizer(), allowedRecipients, sender: services.identity.hpke });
      // The answering enclave's own fresh document: its user_data names the sender key the
      // recipient must check (whichever enclave of a pool answered).
      const attestation = await services.identity.attest();
      return {
        recipient,
        enc: Buffer.from(sealed.enc).toString('base64'),
        ciphertext: Buffer.from(sealed.ciphertext).toString('base64'),
        attestation: Buffer.from(attestation).toString('base64'),
      };
    },
  });

  registry.register({
    op: 'pii.redact',
    input: z.strictObject({ text: sealedInputSchema }),
    handle: ({ text }) =>
      withBuiltinInput(text, { purpose: 'pii-text', maxBytes: REDACT_MAX_CHARS * 4 }, sealedCtx, ({ plaintext }) => {
        const result = redact(decodeText(plaintext));
        return { text: result.text, counts: result.counts };
      }),
  });

  registry.register({
    op: 'pii.blind-index',
    input: z.strictObject({ field: z.enum(BLIND_INDEX_FIELDS as [string, ...string[]]), values: z.array(sealedInputSchema).min(1).max(LIMITS.batchMaxItems) }),
    handle: async ({ field, values }) => ({
      field,
      results: await mapLimited(values, BATCH_CONCURRENCY, (value) =>
        settle(
          withBuiltinInput(value, { purpose: 'pii-value', field, maxBytes: BLIND_INDEX_VALUE_MAX_CHARS * 4 }, sealedCtx, ({ plaintext, origin }) => {
            // A digest is as much an oracle as a token (10^9 SSNs, a few million phone numbers per
            // area): public submission opens card tokenization, under its rate limits, and nothing else.
            if (origin === 'hpke-public') throw new InputError('ERR_SENDER_NOT_ALLOWED', 'blind indexes need an authenticated producer');
            return { digest: indexer().digest(field as (typeof BLIND_INDEX_FIELDS)[number], decodeText(plaintext)) };
          }),
        ),
      ),
    }),
  });
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new InputError('ERR_SEALED_INPUT_MALFORMED', 'sealed text is not UTF-8', { cause: error });
  }
}

/** A per-item outcome for batches: the result, or `{error: {code, message}}` (never input data). */
async function settle<T>(work: Promise<T>): Promise<T | { error: { code: string; message: string } }> {
  try {
    return await work;
  } catch (error) {
    const typed = toEnclaveKitError(error);
    // The enclave or KMS being unavailable (a 5xx) fails the whole batch: the caller retries it.
    if (typed.status >= 500) throw typed;
    return typed.toJSON();
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
