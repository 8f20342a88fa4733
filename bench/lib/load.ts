/**
 * Load generators with latency recorded in HDR histograms (hdr-histogram-js, microseconds):
 * - closedLoop: N workers, each issues its next operation when the previous one answers: the
 *   maximum throughput at that concurrency (latency then includes queueing behind N - 1 others);
 * - openLoop: operations start on a fixed schedule whatever the answers do, and each latency is
 *   measured from when the operation was *due*, not from when it was sent. A stalled system thus
 *   cannot hide its stall by slowing the generator down ("coordinated omission", Gil Tene, "How
 *   NOT to Measure Latency"); this is the figure a p99 target is about.
 * Every operation must succeed: a failure aborts the run (a benchmark of failing requests
 * measures nothing).
 */
import { build, type Histogram } from 'hdr-histogram-js';

export type { Histogram } from 'hdr-histogram-js';

export function newHistogram(): Histogram {
  // 1 µs .. 10 min, 3 significant digits.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LoadRun {
  ops: number;
  seconds: number;
  histogram: Histogram;
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  count: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  return {
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
    count: histogram.totalCount,
  };
}

/** `operation(i)` from `concurrency` workers until `durationMs` has passed; in-flight ones finish. */
export async function closedLoop(operation: (i: number) => Promise<void>, options: { concurrency: number; durationMs: number; histogram?: Histogram }): Promise<LoadRun> {
  const histogram = options.histogram ?? newHistogram();
  const start = performance.now();
  const deadline = start + options.durationMs;
  let next = 0;
  let ops = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const i = next++;
      const begun = performance.now();
      await operation(i);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - begun) * 1000)));
      ops += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { ops, seconds: (performance.now() - start) / 1000, histogram };
}

/**
 * `operation(i)` due at start + i / ratePerSecond for `durationMs`; waits for every started one.
 * Returns also how late the generator itself was in starting operations (`startLag`).
 */
export async function openLoop(
  operation: (i: number) => Promise<void>,
  options: { ratePerSecond: number; durationMs: number; histogram?: Histogram },
): Promise<LoadRun & { maxOutstanding: number; startLag: LatencySummary }> {
  const histogram = options.histogram ?? newHistogram();
  // How late each operation started after it was due: the generator's own lag (timer
  // granularity, its event loop, its GC). Part of every latency recorded above; when it grows
  // the generator, not the system, is falling behind the schedule.
  const startLag = newHistogram();
  const intervalMs = 1000 / options.ratePerSecond;
  const total = Math.floor((options.durationMs / 1000) * options.ratePerSecond);
  const start = performance.now();
  let started = 0;
  let outstanding = 0;
  let maxOutstanding = 0;
  let failure: unknown;
  // Nothing is kept per operation once it has answered: an array of every operation's promise
  // (thousands per second) survived each scavenge of this process's young generation and made its
  // pauses, which every latency here includes, several times longer.
  let allAnswered: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  let sending = true;
  const settle = (): void => {
    outstanding -= 1;
    if (!sending && outstanding === 0) allAnswered();
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (started < total && start + started * intervalMs <= now) {
        const dueAt = start + started * intervalMs;
        startLag.recordValue(Math.max(1, Math.round((now - dueAt) * 1000)));
        const i = started++;
        outstanding += 1;
        maxOutstanding = Math.max(maxOutstanding, outstanding);
        operation(i).then(
          () => {
            histogram.recordValue(Math.max(1, Math.round((performance.now() - dueAt) * 1000)));
            settle();
          },
          (error: unknown) => {
            failure ??= error;
            settle();
          },
        );
      }
      if (started >= total || failure !== undefined) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, start + started * intervalMs - performance.now())));
    };
    tick();
  });
  sending = false;
  if (outstanding > 0) await answered;
  if (failure !== undefined) throw failure;
  return { ops: total, seconds: (performance.now() - start) / 1000, histogram, maxOutstanding, startLag: summarize(startLag) };
}
