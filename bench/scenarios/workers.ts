/**
 * The enclave's worker pool (enclave/workers/pool.ts): the same in-process handler (bench/lib/
 * inprocess.ts) with 1 worker and with 2 workers, HPKE-sealed cards, single-card requests with many
 * in flight and batches of 100, interleaved rounds; the check is the median per-round ratio of
 * cards/s with 2 workers to cards/s with 1 (target ≥ 1.7: two vCPUs should nearly double it).
 *
 * Where the load generator runs: in this process, on the main thread, beside what the main thread
 * does for the enclave anyway (schema checks, handing tasks out, taking rate-limit buckets). Its
 * own work is small (inputs are sealed before the rounds; a request is one dispatch call), but on
 * a machine with exactly 2 cores, 2 workers plus the main thread plus the generator compete for
 * those 2 cores: the result says how far this machine lets the pool scale, and `info` records the
 * main thread's event-loop utilisation and the load average, which tell the two limits apart.
 * The machine's own ceiling is measured in the same run (lib/compute-scaling.ts: a CPU-only kernel
 * on 1 and 2 threads that share nothing) and reported beside the check.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Scenario } from '../main.js';
import { hpkeInProcess, sealCardsHpke, testCards } from '../lib/cards.js';
import { startInProcessEnclave, type InProcessEnclave } from '../lib/inprocess.js';
import { computeScaling } from '../lib/compute-scaling.js';
import { closedLoop } from '../lib/load.js';
import { figure, interleaveAsync, ratioStats, type LoadCase } from '../lib/rounds.js';
import { startBenchStack } from '../lib/stack.js';

const POOL = 256;
const BATCH = 100;
const SINGLE_CONCURRENCY = 64;
const BATCH_CONCURRENCY = 4;

interface Side {
  enclave: InProcessEnclave;
  singles: unknown[];
  batches: unknown[];
}

async function side(stack: Parameters<typeof startInProcessEnclave>[0], workers: number, sender: { privateKey: Uint8Array; publicKey: Uint8Array }): Promise<Side> {
  const enclave = await startInProcessEnclave(stack, { workers });
  await enclave.ready();
  const sealed = await sealCardsHpke(testCards(POOL), enclave.services.identity.hpke.publicKey, sender);
  const singles = sealed.map((s) => ({ card: hpkeInProcess(s) }));
  const batches = Array.from({ length: 16 }, (_, j) => ({ cards: Array.from({ length: BATCH }, (_, k) => hpkeInProcess(sealed[(j * 37 + k) % POOL]!)) }));
  return { enclave, singles, batches };
}

/** A load run, with the main thread's event-loop utilisation over it. */
function tracked(utilisation: number[], run: () => ReturnType<typeof closedLoop>): ReturnType<typeof closedLoop> {
  const before = performance.eventLoopUtilization();
  return run().then((result) => {
    utilisation.push(performance.eventLoopUtilization(before).utilization);
    return result;
  });
}

const scenario: Scenario = {
  description: 'enclave worker pool: in-process handler with 1 vs 2 workers (HPKE cards, singles and batches of 100), cards/s and scaling',
  async run({ quick, log }) {
    const stack = await startBenchStack({ log });
    const sides: Side[] = [];
    try {
      log('  starting in-process enclaves with 1 and 2 workers; sealing cards for each');
      const one = await side(stack, 1, stack.sender);
      sides.push(one);
      const two = await side(stack, 2, stack.sender);
      sides.push(two);
      for (const s of sides) {
        const answer = (await s.enclave.call('cards.tokenize', s.singles[0])) as { token?: string };
        if (typeof answer.token !== 'string') throw new Error('in-process tokenize gave no token');
      }
      const timing = quick ? { rounds: 2, sliceMs: 1000, warmupMs: 500 } : { rounds: 5, sliceMs: 2500, warmupMs: 1500 };
      const mainElu: Record<string, number[]> = {};
      const singleCase = (s: Side, name: string): LoadCase => (ms) =>
        tracked((mainElu[name] ??= []), () => closedLoop(async (i) => void (await s.enclave.call('cards.tokenize', s.singles[i % POOL])), { concurrency: SINGLE_CONCURRENCY, durationMs: ms }));
      const batchCase = (s: Side, name: string): LoadCase => (ms) =>
        tracked((mainElu[name] ??= []), () =>
          closedLoop(
            async (i) => {
              const answer = (await s.enclave.call('cards.tokenize-batch', s.batches[i % s.batches.length])) as { results: unknown[] };
              if (answer.results.length !== BATCH) throw new Error('short batch answer');
            },
            { concurrency: BATCH_CONCURRENCY, durationMs: ms },
          ),
        );
      const S1 = `1 worker, 1 card/request (${SINGLE_CONCURRENCY} in flight)`;
      const S2 = `2 workers, 1 card/request (${SINGLE_CONCURRENCY} in flight)`;
      const B1 = `1 worker, ${BATCH} cards/request (${BATCH_CONCURRENCY} in flight)`;
      const B2 = `2 workers, ${BATCH} cards/request (${BATCH_CONCURRENCY} in flight)`;
      log('  single cards: 1 and 2 workers, interleaved');
      const single = await interleaveAsync({ [S1]: singleCase(one, S1), [S2]: singleCase(two, S2) }, { ...timing, log });
      log(`  batches of ${BATCH}: 1 and 2 workers, interleaved`);
      const batch = await interleaveAsync({ [B1]: batchCase(one, B1), [B2]: batchCase(two, B2) }, { ...timing, log });

      log('  this machine: a CPU-only kernel on 1 and 2 threads, interleaved');
      const machine = await computeScaling({ rounds: timing.rounds, sliceMs: timing.sliceMs / 2 });

      const singleRatio = ratioStats(single, S2, S1);
      const batchRatio = ratioStats(batch, B2, B1);
      // Both kinds of load must scale: the check is the lower of the two medians.
      const worst = singleRatio.median <= batchRatio.median ? { name: 'single', ...singleRatio } : { name: 'batch', ...batchRatio };
      const batchCards2 = batch.rows.find((row) => row.name === B2)!.opsPerSec * BATCH;
      const singleCards2 = single.rows.find((row) => row.name === S2)!.opsPerSec;
      const rows = [
        ...single.rows.map((row) => ({ ...row, unit: 'request of 1 card' })),
        ...batch.rows.map((row) => ({ ...row, unit: `request of ${BATCH} cards` })),
      ];
      return {
        rows,
        figures: [
          figure('cards/s per vCPU, 2 workers, batches', 'cards/s', [batchCards2 / 2]),
          figure('cards/s per vCPU, 2 workers, single cards', 'cards/s', [singleCards2 / 2]),
          figure('scaling 2/1 workers, single cards (median of rounds)', 'x', singleRatio.perRound),
          figure('scaling 2/1 workers, batches (median of rounds)', 'x', batchRatio.perRound),
          figure('this machine: 2/1 threads of a CPU-only kernel, no pool (median of rounds)', 'x', machine.perRound),
        ],
        checks: [
          {
            name: 'workers.scaling2',
            value: worst.median,
            target: 1.7,
            pass: worst.median >= 1.7,
            range: worst.range,
            detail: `cards/s with 2 workers ÷ with 1, median of per-round ratios, the lower of singles (${singleRatio.median.toFixed(2)}) and batches (${batchRatio.median.toFixed(2)}); ${availableParallelism()} vCPUs here, load generator on the main thread; this machine's own 2/1 for threads that share nothing: ${machine.median.toFixed(2)}`,
          },
        ],
        info: {
          availableParallelism: availableParallelism(),
          loadavgAfter: loadavg(),
          machineScaling: { perRound: machine.perRound, oneThreadKernelPerSec: machine.oneThreadPerSec },
          mainThreadEventLoopUtilisation: Object.fromEntries(Object.entries(mainElu).map(([name, values]) => [name, values.map((v) => Number(v.toFixed(3)))])),
          perRound: { single: single.perRound, batch: batch.perRound },
        },
      };
    } finally {
      for (const s of sides) await s.enclave.close();
      await stack.close();
    }
  },
};

export default scenario;
