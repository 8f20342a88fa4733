/**
 * Faults of the processes themselves, on the real stack:
 * - the enclave is SIGKILLed under load: every request either succeeds with the right token or
 *   gets a typed 503, none hangs, none gets a wrong answer; service resumes after a restart;
 * - the parent restarts: the running enclave accepts the new connection and keeps its keys
 *   (the keys.load of the new parent is served from the enclave's data-key cache: no KMS call).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../e2e/stack.js';
import { esdkProducer, type Producer } from '../e2e/producer.js';
import { CARDS, expectTypedError, isAlive, kmsCallEvents, sleep, tokenizeEsdk, type ApiAnswer } from './helpers.js';

let stack: Stack;
let producer: Producer;
/** PAN → token, learned before any fault. */
const expected = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack();
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  for (const card of CARDS) {
    const res = await tokenizeEsdk(stack, await producer.sealCard(card));
    expect(res.status).toBe(200);
    expected.set(card.pan, res.json.token as string);
  }
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
});

/** The right answer for `pan`: its token, BIN and last 4; anything else is a wrong answer. */
function expectCorrect(res: ApiAnswer, pan: string): void {
  expect(res.json.token).toBe(expected.get(pan));
  expect(res.json.bin).toBe(pan.slice(0, 6));
  expect(res.json.last4).toBe(pan.slice(-4));
}

describe('enclave killed under load', () => {
  it('every request ends with the correct token or a typed 503, and service resumes after restart', async () => {
    // Fresh messages (each needs its own KMS Decrypt the first time) mixed with reuse (cache hits):
    // some requests are inside the enclave, some on the link, some in the parent when it dies.
    const pool: { pan: string; sealed: string }[] = [];
    for (let i = 0; i < 24; i += 1) {
      const card = CARDS[i % CARDS.length]!;
      pool.push({ pan: card.pan, sealed: await producer.sealCard(card) });
    }
    const WORKERS = 24;
    const KILL_AFTER = 40;
    const AFTER_KILL = 40;
    const outcomes: { pan: string; res?: ApiAnswer; error?: unknown }[] = [];
    let next = 0;
    let inFlight = 0;
    let stop = false;
    let killedAt = -1;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const item = pool[next++ % pool.length]!;
        inFlight += 1;
        try {
          // 45 s bounds the exchange: the parent's route deadline is 30 s, so a hang shows here.
          outcomes.push({ pan: item.pan, res: await tokenizeEsdk(stack, item.sealed, 45_000) });
        } catch (error) {
          outcomes.push({ pan: item.pan, error });
        } finally {
          inFlight -= 1;
        }
        if (killedAt >= 0 && outcomes.length >= killedAt + AFTER_KILL) stop = true;
      }
    };
    const running = Array.from({ length: WORKERS }, () => worker());
    while (outcomes.length < KILL_AFTER) await sleep(5);
    const pendingAtKill = inFlight;
    killedAt = outcomes.length;
    const enclavePid = stack.enclave().pid;
    await stack.stopEnclave('SIGKILL');
    await Promise.all(running);

    expect(isAlive(enclavePid)).toBe(false);
    expect(pendingAtKill).toBeGreaterThan(0);
    const codes = new Map<string, number>();
    let ok = 0;
    for (const outcome of outcomes) {
      expect(outcome.error, 'a request failed without an HTTP answer (hang or reset)').toBeUndefined();
      const res = outcome.res!;
      if (res.status === 200) {
        expectCorrect(res, outcome.pan);
        ok += 1;
      } else {
        const code = expectTypedError(res, ['ERR_CONNECTION_LOST', 'ERR_ENCLAVE_UNAVAILABLE']);
        expect(res.status).toBe(503);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    // Everything answered before the kill succeeded; failures only came with the fault.
    expect(outcomes.slice(0, killedAt).every((o) => o.res?.status === 200)).toBe(true);
    expect(ok).toBeGreaterThanOrEqual(killedAt);
    // Everything sent once the link was gone was refused at the parent, typed.
    expect(codes.get('ERR_ENCLAVE_UNAVAILABLE') ?? 0).toBeGreaterThan(0);

    await stack.startEnclave();
    await stack.waitReady();
    for (const item of pool.slice(0, CARDS.length)) expectCorrect(await tokenizeEsdk(stack, item.sealed), item.pan);
    for (const card of CARDS) expectCorrect(await tokenizeEsdk(stack, await producer.sealCard(card)), card.pan);
  });
});

describe('parent restart', () => {
  it('the running enclave accepts the new parent and keeps its keys: no KMS Decrypt for them', async () => {
    const sealed = await producer.sealCard(CARDS[0]);
    const first = await tokenizeEsdk(stack, sealed);
    expectCorrect(first, CARDS[0].pan);
    const enclavePid = stack.enclave().pid;
    const count = (event: string): number => stack.enclaveOutput().split('\n').filter((line) => line.includes(`"event":"${event}"`)).length;
    const decryptsBefore = kmsCallEvents(stack, 'Decrypt').length;
    const keyLoadsBefore = count('keys-loaded');
    const connectsBefore = count('parent-connected');

    await stack.restartParent();
    await stack.waitReady();

    // The new parent connected and handed over the wrapped keys again (keys.load ran) ...
    expect(count('parent-connected')).toBeGreaterThan(connectsBefore);
    expect(count('keys-loaded')).toBeGreaterThan(keyLoadsBefore);
    // ... which the enclave answered from its cache: same process, no Decrypt.
    expect(stack.enclave().pid).toBe(enclavePid);
    expect(isAlive(enclavePid)).toBe(true);
    expect(kmsCallEvents(stack, 'Decrypt').length).toBe(decryptsBefore);

    const again = await tokenizeEsdk(stack, sealed);
    expectCorrect(again, CARDS[0].pan);
    expect(kmsCallEvents(stack, 'Decrypt').length).toBe(decryptsBefore);
  });
});
