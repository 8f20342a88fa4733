/**
 * KMS unavailable, seen through the whole stack:
 * - KMS down (every request answered KMSInternalException): a card that needs a KMS call gets a
 *   typed 503 ERR_KMS_UNAVAILABLE after a bounded number of attempts (maxAttempts), nothing
 *   crashes, cached data keys keep working, and service recovers when KMS is back;
 * - slow KMS (latency above the enclave's per-attempt requestTimeoutMs): the request ends with the
 *   same typed 503 well before the parent's 30 s route deadline: the KMS deadline holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../e2e/stack.js';
import { esdkProducer, type Producer } from '../e2e/producer.js';
import { CARDS, KmsRequestCounter, expectTypedError, isAlive, kmsCallEvents, parentPid, tokenizeEsdk } from './helpers.js';

const MAX_ATTEMPTS = 2;
// Generous enough that an ordinary KMS round trip on a loaded CI machine never hits it.
const REQUEST_TIMEOUT_MS = 2_000;

let stack: Stack;
let producer: Producer;
let counter: KmsRequestCounter;
const expected = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack({ kms: { maxAttempts: MAX_ATTEMPTS, requestTimeoutMs: REQUEST_TIMEOUT_MS } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  counter = new KmsRequestCounter(stack.principal('enclave').accessKeyId);
  for (const card of CARDS.slice(0, 2)) {
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

function expectProcessesUp(): void {
  expect(isAlive(stack.enclave().pid)).toBe(true);
  expect(stack.enclave().exitCode).toBeNull();
  expect(isAlive(parentPid(stack))).toBe(true);
}

describe('KMS down', () => {
  it('fresh cards get a typed 503 after at most maxAttempts KMS requests; cached keys still work; recovery when KMS is back', async () => {
    const card = CARDS[0];
    const cached = await producer.sealCard(card);
    expect((await tokenizeEsdk(stack, cached)).json.token).toBe(expected.get(card.pan));
    const fresh = await producer.sealCard(card);

    stack.sim.setFaults({ failRate: 1, failError: 'KMSInternalException' });
    try {
      const attemptsBefore = counter.count('Decrypt');
      const errorsBefore = kmsCallEvents(stack, 'Decrypt').filter((e) => e.outcome === 'error').length;
      const down = await tokenizeEsdk(stack, fresh, 25_000);
      expectTypedError(down, ['ERR_KMS_UNAVAILABLE']);
      // The SDK retried (standard mode) and stopped at maxAttempts; one logical call, no retry loop above it.
      expect(counter.count('Decrypt') - attemptsBefore).toBe(MAX_ATTEMPTS);
      expect(kmsCallEvents(stack, 'Decrypt').filter((e) => e.outcome === 'error').length - errorsBefore).toBe(1);
      expectProcessesUp();

      // A data key already in the enclave's cache needs no KMS: that card still tokenizes.
      const attemptsCached = counter.count('Decrypt');
      expect((await tokenizeEsdk(stack, cached)).json.token).toBe(expected.get(card.pan));
      expect(counter.count('Decrypt')).toBe(attemptsCached);
      // The parent still reports ready: the keys are loaded, only fresh data keys need KMS.
      expect((await stack.api('/readyz')).status).toBe(200);
    } finally {
      stack.sim.setFaults({ failRate: 0 });
    }
    // A failed load is not cached: the same message opens once KMS answers again.
    const back = await tokenizeEsdk(stack, fresh);
    expect(back.status).toBe(200);
    expect(back.json.token).toBe(expected.get(card.pan));
    expectProcessesUp();
  });
});

describe('slow KMS', () => {
  it(`latency above requestTimeoutMs (${REQUEST_TIMEOUT_MS} ms) ends in a typed 503, not a hang or the route deadline`, async () => {
    const card = CARDS[1];
    const fresh = await producer.sealCard(card);
    stack.sim.setFaults({ latencyMs: 3 * REQUEST_TIMEOUT_MS });
    try {
      const attemptsBefore = counter.count('Decrypt');
      // 25 s: generous, yet under the parent's 30 s route deadline, so an answer here came from
      // the KMS client's own timeout and not from the route giving up (ERR_DEADLINE_EXCEEDED).
      const slow = await tokenizeEsdk(stack, fresh, 25_000);
      expectTypedError(slow, ['ERR_KMS_UNAVAILABLE']);
      const attempts = counter.count('Decrypt') - attemptsBefore;
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(MAX_ATTEMPTS);
      expectProcessesUp();
    } finally {
      stack.sim.setFaults({ latencyMs: 0 });
    }
    const back = await tokenizeEsdk(stack, fresh);
    expect(back.status).toBe(200);
    expect(back.json.token).toBe(expected.get(card.pan));
  });
});
