/**
 * The asynchronous counterpart of main.ts's `interleave`: cases are load runs (a closed loop over
 * HTTP, the same handler in process) that each take a slice of time, run in turn, round after
 * round, in alternating order. Ratios are taken per round (adjacent slices saw nearly the same
 * machine: other processes' load drifts slowly), then the median; the per-round spread is kept.
 */
import { median, type BenchRow, type InterleaveResult } from '../main.js';
import { newHistogram, summarize, type Histogram, type LoadRun } from './load.js';

export interface AsyncInterleaveOptions {
  rounds: number;
  sliceMs: number;
  /** Each case runs this long once before the first round (JIT, caches, connections). */
  warmupMs?: number;
  log?: (message: string) => void;
}

export interface AsyncInterleaveResult extends InterleaveResult {
  histograms: Record<string, Histogram>;
}

export type LoadCase = (sliceMs: number) => Promise<LoadRun>;

export async function interleaveAsync(cases: Record<string, LoadCase>, options: AsyncInterleaveOptions): Promise<AsyncInterleaveResult> {
  const names = Object.keys(cases);
  for (const name of names) {
    options.log?.(`    warm-up: ${name}`);
    await (cases[name] as LoadCase)(options.warmupMs ?? options.sliceMs);
  }
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const totals: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]));
  const histograms: Record<string, Histogram> = Object.fromEntries(names.map((name) => [name, newHistogram()]));
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    const rates: string[] = [];
    for (const name of order) {
      const run = await (cases[name] as LoadCase)(options.sliceMs);
      const rate = run.ops / run.seconds;
      (perRound[name] as number[]).push(rate);
      totals[name] = (totals[name] as number) + run.ops;
      (histograms[name] as Histogram).add(run.histogram);
      rates.push(`${name} ${rate.toFixed(0)}/s`);
    }
    options.log?.(`    round ${round + 1}/${options.rounds}: ${rates.join(', ')}`);
  }
  const rows: BenchRow[] = names.map((name) => {
    const rates = perRound[name] as number[];
    const opsPerSec = median(rates);
    const latency = summarize(histograms[name] as Histogram);
    return {
      name,
      opsPerSec,
      meanUs: 1e6 / opsPerSec,
      ops: totals[name] as number,
      range: [Math.min(...rates), Math.max(...rates)],
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
    };
  });
  return { rows, perRound, histograms };
}

/** Per-round ratio numerator / denominator × scale: median and range. */
export function ratioStats(result: InterleaveResult, numerator: string, denominator: string, scale = 1): { median: number; range: [number, number]; perRound: number[] } {
  const a = result.perRound[numerator];
  const b = result.perRound[denominator];
  if (a === undefined || b === undefined) throw new RangeError(`unknown case ${a === undefined ? numerator : denominator}`);
  const ratios = a.map((value, i) => (value / (b[i] as number)) * scale);
  return { median: median(ratios), range: [Math.min(...ratios), Math.max(...ratios)], perRound: ratios };
}

/** A BenchFigure from repeated samples. */
export function figure(name: string, unit: string, samples: readonly number[]): { name: string; median: number; range: [number, number]; unit: string; samples: number[] } {
  return { name, unit, median: median(samples), range: [Math.min(...samples), Math.max(...samples)], samples: [...samples] };
}
