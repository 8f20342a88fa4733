/**
 * The card and PII operations (docs/api.md), registered on the enclave's operation registry.
 * Every answer is derived (tokens, BIN/last 4, brand, flags, redacted text, keyed digests, a
 * ciphertext for an allowlisted recipient): no operation returns plaintext to the parent.
 * Anonymous (HPKE Base-mode) input, when public submission is on, reaches card tokenization under
 * the in-enclave rate limits and redaction (no key involved: it only hands back the sender's own
 * text, masked); blind indexes refuse it (docs/architecture.md "Trust model").
 */
import { z } from 'zod';
import { InputError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { detokenizeTo, recipientFingerprint } from '../cards/detokenize-to.js';
import { RateLimiter } from '../cards/rate-limit.js';
import { Tokenizer } from '../cards/tokenizer.js';
import { BlindIndexer, BLIND_INDEX_FIELDS, type BlindIndexField } from '../pii/blind-index.js';
import type { EnclaveConfig } from '../config.js';
import type { EnclaveServices } from '../runtime.js';
import { releaseOutcome, runBuiltinTask, settleOutcome, type BuiltinTask, type ItemOutcome } from './builtin-work.js';
import type { HandlerRegistry } from './registry.js';
import { sealedInputSchema, type SealedInputContext } from './sealed-input.js';

type CardsConfig = NonNullable<EnclaveConfig['cards']>;

/** What sealedInputContext needs: a KMS client for ESDK and kmsRsa inputs, and the enclave's HPKE key. */
export interface SealedInputServices {
  kms: SealedInputContext['kms'];
  identity: { hpke: SealedInputContext['recipient'] };
}

/**
 * How the enclave opens sealed inputs under the `cards` configuration: the card key for ESDK
 * messages, the enclave's HPKE key, the allowlisted Auth-mode senders and the public-submission
 * switch. Custom handlers use it with `withOpenedInput` (docs/api.md, "Custom handlers"); the worker
 * pool's threads build theirs with it too (enclave/workers/worker.ts).
 * Key sizes and counts are checked by the config schema (enclave/config.ts), so a bad key stops
 * the boot with ERR_CONFIG.
 */
export function sealedInputContext(services: SealedInputServices, cards: Readonly<CardsConfig>): SealedInputContext {
  const senderPolicy = {
    allowedSenders: cards.hpkeSenders.map((k) => new Uint8Array(Buffer.from(k, 'base64'))),
    publicSubmission: cards.publicSubmission.enabled,
  };
  return { kms: services.kms, cardKeyArn: cards.cardKeyArn, rsaKey: cards.rsaKey, recipient: services.identity.hpke, senderPolicy };
}

/** The blind-index key's derived object under the `cards` configuration (main thread and workers). */
export function blindIndexerFor(key: Uint8Array, cards: Readonly<CardsConfig>): BlindIndexer {
  return new BlindIndexer(key, { defaultCountryCode: cards.phoneCountryCode });
}

export function registerBuiltinHandlers(registry: HandlerRegistry, services: EnclaveServices, config: Readonly<EnclaveConfig>, now: () => number = Date.now): void {
  const cards = config.cards;
  if (cards === undefined) return;
  const limiter = new RateLimiter(
    {
      perKey: { capacity: cards.publicSubmission.perCardBurst, refillPerSecond: cards.publicSubmission.perCardPerHour / 3600 },
      overall: { capacity: cards.publicSubmission.overallBurst, refillPerSecond: cards.publicSubmission.overallPerSecond },
      maxTrackedKeys: 100_000,
    },
    now,
  );
  const tokenizer = (): Tokenizer => services.keys.derive('tokenization', (key) => new Tokenizer(key));
  const recipients = new Map(Object.entries(cards.detokenizeRecipients).map(([name, b64]) => [name, new Uint8Array(Buffer.from(b64, 'base64'))]));
  const allowedRecipients = new Set([...recipients.values()].map(recipientFingerprint));

  // Opening and tokenizing run in the worker pool when there is one (enclave/workers/pool.ts), else
  // here; either way the rate limiter stays on this thread (workers take buckets by asking it).
  const takeRate = (bucketKey: string): void => limiter.take(bucketKey);
  const pool = services.workers;
  let run: (task: BuiltinTask) => Promise<ItemOutcome[]>;
  if (pool !== undefined) {
    pool.start({ takeRate });
    run = (task) => pool.run(task);
  } else {
    const sealedCtx = sealedInputContext(services, cards);
    const workCtx = {
      sealed: sealedCtx,
      tokenizer,
      indexer: () => services.keys.derive('blind-index', (key) => blindIndexerFor(key, cards)),
      now,
      takeRate,
    };
    run = (task) => runBuiltinTask(task, workCtx);
  }
  const one = async (task: BuiltinTask): Promise<unknown> => releaseOutcome((await run(task))[0]!);
  const each = async (task: BuiltinTask): Promise<unknown[]> => (await run(task)).map(settleOutcome);

  registry.register({ op: 'cards.tokenize', input: z.strictObject({ card: sealedInputSchema }), handle: ({ card }) => one({ op: 'tokenize', items: [card] }) });

  registry.register({
    op: 'cards.tokenize-batch',
    input: z.strictObject({ cards: z.array(sealedInputSchema).min(1).max(LIMITS.batchMaxItems) }),
    handle: async ({ cards: items }) => ({ results: await each({ op: 'tokenize', items }) }),
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
    handle: ({ text }) => one({ op: 'redact', items: [text] }),
  });

  registry.register({
    op: 'pii.blind-index',
    input: z.strictObject({ field: z.enum(BLIND_INDEX_FIELDS as [BlindIndexField, ...BlindIndexField[]]), values: z.array(sealedInputSchema).min(1).max(LIMITS.batchMaxItems) }),
    handle: async ({ field, values }) => ({ field, results: await each({ op: 'blind-index', field, items: values }) }),
  });
}
