/**
 * The enclave process itself: cold start to ready, and resident memory under load.
 *
 * Cold start: the running enclave is killed (SIGKILL), a new one is spawned (the production bundle,
 * in an empty network namespace when possible, its NSM a fresh simulated one), and /readyz on the
 * parent is polled every 5 ms until it answers 200. Split by the enclave's own log events:
 * spawn → listening (Node start, bundle load, PCR16 measurement, RSA-2048 + X25519 key generation),
 * → parent connected (the parent's reconnect backoff, capped exponential with jitter), → keys
 * loaded (two KMS Decrypts with attestation through the parent's tunnel), → /readyz 200.
 *
 * Memory: VmRSS from /proc/PID/status when idle after boot, sampled every 100 ms under a mixed
 * load (64 single-card requests and 8 batches of 100 in flight, HPKE-sealed cards), VmHWM (the
 * kernel's peak) at the end, and VmRSS again after the load stopped.
 */
import type { Scenario } from '../main.js';
import { enclaveHpkeKey, hpkeWire, sealCardsHpke, testCards } from '../lib/cards.js';
import { closedLoop } from '../lib/load.js';
import { memoryOf, sampleMemory } from '../lib/proc.js';
import { figure } from '../lib/rounds.js';
import { startBenchStack, type BenchStack } from '../lib/stack.js';

/** ms since the epoch of the last enclave log event named `event` at or after `since`. */
function eventTime(stack: BenchStack, event: string, since: number): number | undefined {
  const times = stack
    .enclaveEvents()
    .filter((e) => e.event === event && typeof e.ts === 'string')
    .map((e) => Date.parse(e.ts as string))
    .filter((t) => t >= since);
  return times.at(-1);
}

const scenario: Scenario = {
  description: 'enclave process: cold start to ready (spawn → /readyz 200), resident memory idle and under load',
  async run({ quick, log }) {
    const stack = await startBenchStack({ log });
    try {
      const starts = quick ? 2 : 5;
      const toListening: number[] = [];
      const toConnected: number[] = [];
      const toKeys: number[] = [];
      const toReady: number[] = [];
      for (let i = 0; i < starts; i += 1) {
        await stack.stopEnclave();
        // Wait until the parent has noticed, so the next 200 comes from the new enclave.
        for (let tries = 0; (await stack.http.get('/readyz')).status === 200; tries += 1) {
          if (tries > 500) throw new Error('the parent still reports ready after the enclave was killed');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const wallAtSpawn = Date.now() - 1; // log timestamps have ms resolution
        const { spawnedAt } = await stack.startEnclave();
        const listening = performance.now();
        const ready = await stack.waitReady(60_000, 5);
        toListening.push(listening - spawnedAt);
        toReady.push(ready - spawnedAt);
        const connected = eventTime(stack, 'parent-connected', wallAtSpawn);
        const keys = eventTime(stack, 'keys-loaded', wallAtSpawn);
        if (connected !== undefined) toConnected.push(connected - wallAtSpawn);
        if (keys !== undefined) toKeys.push(keys - wallAtSpawn);
        log(`    start ${i + 1}/${starts}: listening after ${(listening - spawnedAt).toFixed(0)} ms, /readyz 200 after ${(ready - spawnedAt).toFixed(0)} ms`);
      }

      const pid = stack.enclavePid();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const idle = memoryOf(pid);
      log('  memory under load: 64 single-card and 8 batch requests in flight');
      const cards = testCards(256, 3);
      const sealed = await sealCardsHpke(cards, await enclaveHpkeKey(stack), stack.sender);
      const singles = sealed.map((s) => Buffer.from(JSON.stringify({ card: hpkeWire(s) })));
      const batches = Array.from({ length: 8 }, (_, j) => Buffer.from(JSON.stringify({ cards: Array.from({ length: 100 }, (_, k) => hpkeWire(sealed[(j * 29 + k) % sealed.length]!)) })));
      const post = async (path: string, body: Buffer): Promise<void> => {
        const answer = await stack.load.post(path, body);
        if (answer.status !== 200 || answer.body.includes('"error"')) throw new Error(`${path}: ${answer.status} ${answer.body.slice(0, 200)}`);
      };
      const stop = sampleMemory(pid, 100);
      const durationMs = quick ? 3000 : 10_000;
      const [single, batch] = await Promise.all([
        closedLoop((i) => post('/v1/cards/tokenize', singles[i % singles.length]!), { concurrency: 64, durationMs }),
        closedLoop((i) => post('/v1/cards/tokenize-batch', batches[i % batches.length]!), { concurrency: 8, durationMs }),
      ]);
      const underLoad = stop();
      const hwm = memoryOf(pid).hwmMiB;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const after = memoryOf(pid);
      const cardsPerSecond = (single.ops + batch.ops * 100) / Math.max(single.seconds, batch.seconds);

      return {
        rows: [
          { name: 'mixed load: single-card requests', opsPerSec: single.ops / single.seconds, meanUs: (single.seconds * 1e6) / single.ops, ops: single.ops, unit: 'request of 1 card' },
          { name: 'mixed load: batch requests', opsPerSec: batch.ops / batch.seconds, meanUs: (batch.seconds * 1e6) / batch.ops, ops: batch.ops, unit: 'request of 100 cards' },
          { name: 'mixed load: cards', opsPerSec: cardsPerSecond, meanUs: 1e6 / cardsPerSecond, ops: single.ops + batch.ops * 100, unit: 'card' },
        ],
        figures: [
          figure('cold start: spawn → listening', 'ms', toListening),
          ...(toConnected.length > 0 ? [figure('cold start: spawn → parent connected', 'ms', toConnected)] : []),
          ...(toKeys.length > 0 ? [figure('cold start: spawn → keys loaded (2 attested KMS Decrypts)', 'ms', toKeys)] : []),
          figure('cold start: spawn → /readyz 200', 'ms', toReady),
          figure('enclave VmRSS idle after boot', 'MiB', [idle.rssMiB]),
          figure('enclave VmRSS under load: peak of 100 ms samples', 'MiB', [underLoad.peakRssMiB]),
          figure('enclave VmHWM after load (kernel peak)', 'MiB', [hwm]),
          figure('enclave VmRSS 2 s after the load', 'MiB', [after.rssMiB]),
        ],
        checks: [],
        info: { isolatedEnclave: stack.isolated, starts, toListening, toConnected, toKeys, toReady, memory: { idle, underLoad, hwmMiB: hwm, after } },
      };
    } finally {
      await stack.close();
    }
  },
};

export default scenario;
