/**
 * KMS throttling half the requests: fresh ESDK cards, each needing its own KMS
 * Decrypt, all succeed through the SDK's retries (standard mode: exponential backoff with full
 * jitter, throttling-aware), and the number of KMS requests stays bounded: at most maxAttempts
 * per card, and one logical call per data key (no retry loop above the SDK's).
 *
 * Determinism: the simulator's injected failures come from a seeded generator (kmsFaultSeed), and
 * the cards are sent one after another, so which attempts fail is the same on every run (the SDK's
 * jitter only moves time, not outcomes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../e2e/stack.js';
import { esdkProducer, type Producer } from '../e2e/producer.js';
import { CARDS, KmsRequestCounter, kmsCallEvents, tokenizeEsdk } from './helpers.js';

const MAX_ATTEMPTS = 8;
const FRESH_CARDS = 8;

let stack: Stack;
let producer: Producer;
let counter: KmsRequestCounter;
const expected = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack({ kmsFaultSeed: 42, kms: { maxAttempts: MAX_ATTEMPTS } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  counter = new KmsRequestCounter(stack.principal('enclave').accessKeyId);
  for (const card of CARDS) {
    const res = await tokenizeEsdk(stack, await producer.sealCard(card));
    expect(res.status).toBe(200);
    expected.set(card.pan, res.json.token as string);
  }
}, 120_000);

afterAll(async () => {
  counter?.close();
  producer?.close();
  await stack?.close();
});

describe('KMS throttling half the requests', () => {
  it('every fresh card succeeds through backoff, with a bounded number of KMS requests', async () => {
    // Sealed before the fault: the producer's own GenerateDataKey calls are not under test.
    const sealed: { pan: string; esdk: string }[] = [];
    for (let i = 0; i < FRESH_CARDS; i += 1) {
      const card = CARDS[i % CARDS.length]!;
      sealed.push({ pan: card.pan, esdk: await producer.sealCard(card) });
    }
    const attemptsBefore = counter.count('Decrypt');
    const callsBefore = kmsCallEvents(stack, 'Decrypt').length;

    stack.sim.setFaults({ failRate: 0.5, failError: 'ThrottlingException' });
    try {
      for (const { pan, esdk } of sealed) {
        const res = await tokenizeEsdk(stack, esdk, 60_000);
        expect(res.status, JSON.stringify(res.json)).toBe(200);
        expect(res.json.token).toBe(expected.get(pan));
      }
    } finally {
      stack.sim.setFaults({ failRate: 0 });
    }

    const attempts = counter.count('Decrypt') - attemptsBefore;
    // Throttling did happen (retries were needed) ...
    expect(attempts).toBeGreaterThan(FRESH_CARDS);
    // ... and stayed within the SDK's budget: at most maxAttempts per data key.
    expect(attempts).toBeLessThanOrEqual(FRESH_CARDS * MAX_ATTEMPTS);
    // One logical Decrypt per fresh data key, each finally successful.
    const calls = kmsCallEvents(stack, 'Decrypt').slice(callsBefore);
    expect(calls).toHaveLength(FRESH_CARDS);
    expect(calls.every((c) => c.outcome === 'ok')).toBe(true);
  });
});
