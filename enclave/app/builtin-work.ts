/**
 * The CPU work of the built-in card and PII operations, item by item: open a sealed input, then
 * tokenize (FF1), redact or compute a blind index. The same code runs on the main thread (`workers:
 * 0`) and inside the worker pool's threads (enclave/workers/): plaintext exists only where this
 * runs, and only the derived outcome leaves it.
 *
 * What stays with the caller (the main thread): the public-submission rate limiter. An anonymous
 * card's bucket key (BIN and last 4, which its token shows anyway) travels beside the outcome, and
 * the caller takes the bucket before it releases the outcome (`releaseOutcome`), so limits hold
 * exactly however many threads tokenize; the outcome of a refused card is never released.
 */
import { EnclaveKitError, InputError, toEnclaveKitError } from '../../shared/errors.js';
import { CARD_RECORD_MAX_BYTES, parseCardRecord } from '../cards/card-record.js';
import { cardBucketKey, checkPublicPanLength, type RateLimiter } from '../cards/rate-limit.js';
import { tokenizeCard } from '../cards/tokenize-card.js';
import type { Tokenizer } from '../cards/tokenizer.js';
import { BLIND_INDEX_VALUE_MAX_CHARS, type BlindIndexer, type BlindIndexField } from '../pii/blind-index.js';
import { REDACT_MAX_CHARS, redact } from '../pii/redact.js';
import { withBuiltinInput, type SealedInput, type SealedInputContext } from './sealed-input.js';

/** Sealed items processed at once within one batch (KMS calls are cached; this bounds memory). */
export const BATCH_CONCURRENCY = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One unit of built-in work: the items of one request (or one share of a batch). */
export type BuiltinTask =
  | { op: 'tokenize'; items: SealedInput[] }
  | { op: 'redact'; items: SealedInput[] }
  | { op: 'blind-index'; field: BlindIndexField; items: SealedInput[] };

/**
 * What one item came to: a derived value or a typed error, and for an anonymous card the rate-limit
 * bucket to take before either is released.
 */
export type ItemOutcome = ({ value: unknown } | { error: EnclaveKitError }) & { rateKey?: string };

/** What the work needs, wherever it runs. */
export interface WorkContext {
  sealed: SealedInputContext;
  tokenizer(): Tokenizer;
  indexer(): BlindIndexer;
  /** Card expiry is judged at this time (docs/conventions.md item 3). */
  now(): number;
}

/** Runs every item of the task, BATCH_CONCURRENCY at a time; never throws for an item's input. */
export function runBuiltinTask(task: BuiltinTask, ctx: WorkContext): Promise<ItemOutcome[]> {
  switch (task.op) {
    case 'tokenize':
      return mapLimited(task.items, BATCH_CONCURRENCY, (item) => tokenizeItem(item, ctx));
    case 'redact':
      return mapLimited(task.items, BATCH_CONCURRENCY, (item) => redactItem(item, ctx));
    case 'blind-index':
      return mapLimited(task.items, BATCH_CONCURRENCY, (item) => blindIndexItem(item, task.field, ctx));
  }
}

async function tokenizeItem(input: SealedInput, ctx: WorkContext): Promise<ItemOutcome> {
  let rateKey: string | undefined;
  const withKey = (outcome: ItemOutcome): ItemOutcome => (rateKey === undefined ? outcome : { ...outcome, rateKey });
  try {
    const value = await withBuiltinInput(input, { purpose: 'card', maxBytes: CARD_RECORD_MAX_BYTES }, ctx.sealed, ({ plaintext, origin }) => {
      const card = parseCardRecord(plaintext);
      // Anonymous submissions are an oracle: only PAN lengths with enough middles, rate limited
      // per (BIN, last 4) and overall (enclave/cards/rate-limit.ts) by whoever releases the outcome.
      if (origin === 'hpke-public') {
        checkPublicPanLength(card.pan);
        rateKey = cardBucketKey(card.pan);
      }
      return tokenizeCard(ctx.tokenizer(), card, ctx.now());
    });
    return withKey({ value });
  } catch (error) {
    return withKey({ error: toEnclaveKitError(error) });
  }
}

async function redactItem(input: SealedInput, ctx: WorkContext): Promise<ItemOutcome> {
  try {
    return {
      value: await withBuiltinInput(input, { purpose: 'pii-text', maxBytes: REDACT_MAX_CHARS * 4 }, ctx.sealed, ({ plaintext }) => {
        const result = redact(decodeText(plaintext));
        return { text: result.text, counts: result.counts };
      }),
    };
  } catch (error) {
    return { error: toEnclaveKitError(error) };
  }
}

async function blindIndexItem(input: SealedInput, field: BlindIndexField, ctx: WorkContext): Promise<ItemOutcome> {
  try {
    return {
      value: await withBuiltinInput(input, { purpose: 'pii-value', field, maxBytes: BLIND_INDEX_VALUE_MAX_CHARS * 4 }, ctx.sealed, ({ plaintext, origin }) => {
        // A digest is as much an oracle as a token (10^9 SSNs, a few million phone numbers per
        // area): public submission opens card tokenization, under its rate limits, and nothing else.
        if (origin === 'hpke-public') throw new InputError('ERR_SENDER_NOT_ALLOWED', 'blind indexes need an authenticated producer');
        return { digest: ctx.indexer().digest(field, decodeText(plaintext)) };
      }),
    };
  } catch (error) {
    return { error: toEnclaveKitError(error) };
  }
}

/**
 * The value of an outcome, after its rate-limit bucket (if any) is taken: ERR_RATE_LIMITED when the
 * bucket is empty, the item's own typed error otherwise. Runs where the limiter lives.
 */
export function releaseOutcome(outcome: ItemOutcome, limiter: RateLimiter): unknown {
  if (outcome.rateKey !== undefined) limiter.take(outcome.rateKey);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/**
 * A batch item's answer: the value, or `{error: {code, message}}` (never input data). The enclave
 * or KMS being unavailable (a 5xx) fails the whole batch: the caller retries it.
 */
export function settleOutcome(outcome: ItemOutcome, limiter: RateLimiter): unknown {
  try {
    return releaseOutcome(outcome, limiter);
  } catch (error) {
    const typed = toEnclaveKitError(error);
    if (typed.status >= 500) throw typed;
    return typed.toJSON();
  }
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new InputError('ERR_SEALED_INPUT_MALFORMED', 'sealed text is not UTF-8', { cause: error });
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(runners);
  return results;
}
