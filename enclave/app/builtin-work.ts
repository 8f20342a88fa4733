/**
 * The CPU work of the built-in card and PII operations, item by item: open a sealed input, then
 * tokenize (FF1), redact or compute a blind index. The same code runs on the main thread (`workers:
 * 0`) and inside the worker pool's threads (enclave/workers/): plaintext exists only where this
 * runs, and only the derived outcome leaves it.
 *
 * What stays with the main thread: the public-submission rate limiter. An anonymous card's bucket
 * (BIN and last 4, which its token shows anyway) is taken through `WorkContext.takeRate` after the
 * card is opened and before it is tokenized: on the main thread directly, from a worker by a round
 * trip to it. So limits hold exactly however many threads tokenize, and a flood of refused cards
 * costs their opening only, not an FF1 tokenization each.
 */
import { EnclaveKitError, InputError, toEnclaveKitError } from '../../shared/errors.js';
import { CARD_RECORD_MAX_BYTES, parseCardRecord } from '../cards/card-record.js';
import { cardBucketKey, checkPublicPanLength } from '../cards/rate-limit.js';
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

/** What one item came to: a derived value or a typed error. */
export type ItemOutcome = { value: unknown } | { error: EnclaveKitError };

/** What the work needs, wherever it runs. */
export interface WorkContext {
  sealed: SealedInputContext;
  tokenizer(): Tokenizer;
  indexer(): BlindIndexer;
  /** Card expiry is judged at this time (docs/conventions.md item 3). */
  now(): number;
  /** Takes an anonymous card's rate-limit bucket; throws (rejects) ERR_RATE_LIMITED when it is empty. */
  takeRate(bucketKey: string): void | Promise<void>;
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
  try {
    const value = await withBuiltinInput(input, { purpose: 'card', maxBytes: CARD_RECORD_MAX_BYTES }, ctx.sealed, async ({ plaintext, origin }) => {
      const card = parseCardRecord(plaintext);
      // Anonymous submissions are an oracle: only PAN lengths with enough middles, rate limited
      // per (BIN, last 4) and overall (enclave/cards/rate-limit.ts), before any tokenization.
      if (origin === 'hpke-public') {
        checkPublicPanLength(card.pan);
        await ctx.takeRate(cardBucketKey(card.pan));
      }
      return tokenizeCard(ctx.tokenizer(), card, ctx.now());
    });
    return { value };
  } catch (error) {
    return { error: toEnclaveKitError(error) };
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

/** The value of an outcome, or its typed error thrown. */
export function releaseOutcome(outcome: ItemOutcome): unknown {
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/**
 * A batch item's answer: the value, or `{error: {code, message}}` (never input data). The enclave
 * or KMS being unavailable (a 5xx) fails the whole batch: the caller retries it.
 */
export function settleOutcome(outcome: ItemOutcome): unknown {
  try {
    return releaseOutcome(outcome);
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
