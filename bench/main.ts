/**
 * Benchmark runner: `npm run bench -- [NAME...] [--quick] [--strict] [--list]`.
 *
 * A scenario is a module bench/scenarios/<name>.ts whose default export is a `Scenario`; it returns
 * rows (rates) and checks (ratios and latencies against targets). The runner prints one table per
 * scenario, then every scenario's checks side by side (lib/checks.ts), and writes all of it, with
 * the load average at each scenario's start and end, to bench/results/latest.json. Not a test: numbers depend on the machine and its load, so
 * scenarios compare rates measured side by side in the same process (see `interleave`), and the
 * exit code is 0 unless --strict is given and a check misses its target.
 *
 * Each scenario runs in a process of its own (this file again, with `--child-result FILE`), so
 * none inherits another's heap, compiled code or leftover handles: run after the others in one
 * process, the worker-pool scenario's main thread (whose cost per card bounds the scaling it
 * checks) measured 1.58-1.67x where it measured 1.75x alone.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checksTable, recordChecks, type FailedScenario, type RecordedCheck } from './lib/checks.js';

export interface BenchRow {
  name: string;
  /** Median operations per second over the rounds. */
  opsPerSec: number;
  /** 1e6 / opsPerSec. */
  meanUs: number;
  /** Operations measured in total. */
  ops: number;
  /** Lowest and highest per-round rate, ops/s: the spread around the median. */
  range?: [number, number];
  /** What one operation is, when not one call (e.g. 'request of 100 cards'). */
  unit?: string;
  /** Latency percentiles over all rounds, ms (load scenarios). */
  p50Ms?: number;
  p99Ms?: number;
}

/** A figure that is not a rate (KMS calls, ms to ready, MiB): median and spread over repeats. */
export interface BenchFigure {
  name: string;
  median: number;
  range: [number, number];
  unit: string;
  samples: number[];
}

export interface BenchCheck {
  name: string;
  value: number;
  target: number;
  pass: boolean;
  /** How the value was computed. */
  detail: string;
  /** How value compares with target to pass; default '≥'. */
  comparison?: '≥' | '≤';
  /** Lowest and highest per-round value, when the value is a median over rounds. */
  range?: [number, number];
}

export interface ScenarioResult {
  rows: BenchRow[];
  checks: BenchCheck[];
  figures?: BenchFigure[];
  info?: Record<string, unknown>;
}

export interface ScenarioContext {
  /** Shorter runs, for smoke checks. */
  quick: boolean;
  log(message: string): void;
}

export interface Scenario {
  description: string;
  run(context: ScenarioContext): ScenarioResult | Promise<ScenarioResult>;
}

export interface InterleaveOptions {
  rounds: number;
  /** Time each case runs per round, ms. */
  sliceMs: number;
  /** Warm-up time per case before the first round, ms. */
  warmupMs?: number;
  /**
   * 'wall' (default): rates per elapsed second. 'cpu': per second of this process's CPU time
   * (process.cpuUsage, all its threads), which other processes sharing the cores disturb less;
   * for breaking work down into steps rather than for throughput. Each read is a getrusage call
   * (~1 µs), so steps of a few µs come out slower than they are.
   */
  clock?: 'wall' | 'cpu';
}

export interface InterleaveResult {
  rows: BenchRow[];
  /** Per case, the rate (ops/s) of each round, in round order. */
  perRound: Record<string, number[]>;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function runFor(operation: () => void, ms: number, clock: 'wall' | 'cpu' = 'wall'): { ops: number; seconds: number } {
  const read = clock === 'cpu' ? cpuMs : () => performance.now();
  const start = read();
  const deadline = start + ms;
  let ops = 0;
  let now = start;
  while (now < deadline) {
    operation();
    ops += 1;
    now = read();
  }
  return { ops, seconds: (now - start) / 1000 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Runs the cases in turn, a short slice each, round after round. Other processes' load drifts
 * slowly; cases measured seconds apart see different machines, cases measured in adjacent
 * slices see nearly the same one. Ratios are therefore taken per round, then the median.
 */
export function interleave(cases: Record<string, () => void>, options: InterleaveOptions): InterleaveResult {
  const names = Object.keys(cases);
  for (const name of names) runFor(cases[name] as () => void, options.warmupMs ?? options.sliceMs, options.clock);
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const totals: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]));
  for (let round = 0; round < options.rounds; round += 1) {
    // Alternate the order so that no case always follows the same one.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const { ops, seconds } = runFor(cases[name] as () => void, options.sliceMs, options.clock);
      (perRound[name] as number[]).push(ops / seconds);
      totals[name] = (totals[name] as number) + ops;
    }
  }
  const rows = names.map((name) => {
    const rates = perRound[name] as number[];
    const opsPerSec = median(rates);
    return { name, opsPerSec, meanUs: 1e6 / opsPerSec, ops: totals[name] as number, range: [Math.min(...rates), Math.max(...rates)] as [number, number] };
  });
  return { rows, perRound };
}

/** Median over rounds of numerator[i] / denominator[i] × scale. */
export function medianRatio(result: InterleaveResult, numerator: string, denominator: string, scale = 1): number {
  const a = result.perRound[numerator];
  const b = result.perRound[denominator];
  if (a === undefined || b === undefined) throw new RangeError(`unknown case ${a === undefined ? numerator : denominator}`);
  return median(a.map((value, i) => (value / (b[i] as number)) * scale));
}

// @aws-sdk/* are pinned exactly; their notice about future releases needing Node 22 concerns
// upgrades (as in bin/enclavekit.js). Set before any scenario loads the SDK.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SCENARIO_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

function fixed(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function table(result: ScenarioResult): string {
  const lines = ['  case                                       ops/s      µs/op        ops   range (ops/s)    p50/p99 ms'];
  for (const row of result.rows) {
    const range = row.range === undefined ? '' : `${fixed(row.range[0])}-${fixed(row.range[1])}`;
    const latency = row.p50Ms === undefined || row.p99Ms === undefined ? '' : `${fixed(row.p50Ms)}/${fixed(row.p99Ms)}`;
    lines.push(
      `  ${row.name.padEnd(40)} ${row.opsPerSec.toFixed(1).padStart(9)} ${row.meanUs.toFixed(1).padStart(10)} ${String(row.ops).padStart(10)} ${range.padStart(15)} ${latency.padStart(13)}${row.unit === undefined ? '' : `  (${row.unit})`}`,
    );
  }
  for (const figure of result.figures ?? []) {
    lines.push(`  ${figure.name.padEnd(40)} ${fixed(figure.median).padStart(9)} ${figure.unit} (range ${fixed(figure.range[0])}-${fixed(figure.range[1])}, n=${figure.samples.length})`);
  }
  for (const check of result.checks) {
    const range = check.range === undefined ? '' : ` range ${check.range[0].toFixed(3)}-${check.range[1].toFixed(3)}`;
    lines.push(`  ${check.pass ? 'PASS' : 'MISS'} ${check.name}: ${check.value.toFixed(3)} (target ${check.comparison ?? '≥'} ${check.target})${range} ${check.detail}`);
  }
  return lines.join('\n');
}

/** A scenario still running after this long is stopped and recorded as failed, ms. */
const SCENARIO_TIMEOUT_MS = 30 * 60_000;

/**
 * Runs one scenario in a fresh process (this file, the same Node and loader flags, not a debugger
 * port) and returns its result; the child's log lines go to this process's stderr as they come.
 * The result travels as a V8 structured clone, which keeps NaN and Infinity (JSON would not).
 */
async function runInChild(name: string, quick: boolean): Promise<ScenarioResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'enclavekit-bench-'));
  const resultFile = path.join(dir, 'result.v8');
  try {
    const nodeFlags = process.execArgv.filter((flag) => !flag.startsWith('--inspect'));
    const args = [...nodeFlags, fileURLToPath(import.meta.url), name, ...(quick ? ['--quick'] : []), CHILD_FLAG, resultFile];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, SCENARIO_TIMEOUT_MS);
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }).finally(() => clearTimeout(timer));
    let written: Buffer;
    try {
      written = readFileSync(resultFile);
    } catch {
      if (timedOut) throw new Error(`it was stopped after ${SCENARIO_TIMEOUT_MS / 60_000} min with no result`);
      throw new Error(`its process ended (${ended.signal === null ? `exit code ${ended.code}` : `signal ${ended.signal}`}) with no result`);
    }
    const outcome = deserialize(written) as { result: ScenarioResult } | { error: string };
    if ('error' in outcome) throw new Error(outcome.error);
    return outcome.result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The child's side of runInChild: run the scenario here, write `{result}` or `{error}` to the file. */
async function runChild(name: string, quick: boolean, resultFile: string): Promise<number> {
  const module = (await import(pathToFileURL(`${SCENARIO_DIR}${name}.ts`).href)) as { default: Scenario };
  const context: ScenarioContext = { quick, log: (message) => process.stderr.write(`${message}\n`) };
  try {
    writeFileSync(resultFile, serialize({ result: await module.default.run(context) }));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    writeFileSync(resultFile, serialize({ error: message }));
    return 1;
  }
}

const CHILD_FLAG = '--child-result';

async function main(argv: string[]): Promise<number> {
  const childAt = argv.indexOf(CHILD_FLAG);
  if (childAt >= 0) return runChild(argv[0] ?? '', argv.includes('--quick'), argv[childAt + 1] ?? '');
  const flags = new Set(argv.filter((arg) => arg.startsWith('--')));
  const unknownFlags = [...flags].filter((flag) => !['--quick', '--strict', '--list'].includes(flag));
  const available = scenarioNames();
  if (unknownFlags.length > 0) {
    process.stderr.write(`bench: unknown option ${unknownFlags.join(', ')}\nusage: npm run bench -- [NAME...] [--quick] [--strict] [--list]\n`);
    return 2;
  }
  if (flags.has('--list')) {
    process.stdout.write(`${available.join('\n')}\n`);
    return 0;
  }
  const requested = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = requested.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no scenario ${unknown.join(', ')} (available: ${available.join(', ')})\n`);
    return 2;
  }
  const context: ScenarioContext = { quick: flags.has('--quick'), log: (message) => process.stderr.write(`${message}\n`) };
  const results: Record<string, ScenarioResult & { description: string; seconds: number; loadavg1m: [number, number] }> = {};
  const checks: RecordedCheck[] = [];
  let missed = false;
  const failed: FailedScenario[] = [];
  const began = performance.now();
  const loadavgAtStart = loadavg();
  for (const name of requested.length > 0 ? requested : available) {
    const module = (await import(pathToFileURL(`${SCENARIO_DIR}${name}.ts`).href)) as { default: Scenario };
    process.stdout.write(`\n${name}: ${module.default.description}\n`);
    const scenarioBegan = performance.now();
    const loadBefore = loadavg()[0] as number;
    let result: ScenarioResult;
    try {
      result = await runInChild(name, context.quick);
    } catch (error) {
      // One broken scenario must not cost the figures of the others: record it and go on.
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: scenario ${name} failed: ${message}\n`);
      failed.push({ scenario: name, error: message.split('\n')[0] ?? '' });
      result = { rows: [], checks: [], info: { error: message.split('\n')[0] } };
    }
    const seconds = Math.round(performance.now() - scenarioBegan) / 1000;
    const loadavg1m: [number, number] = [loadBefore, loadavg()[0] as number];
    results[name] = { description: module.default.description, seconds, loadavg1m, ...result };
    checks.push(...recordChecks(name, result.checks, loadavg1m));
    missed ||= result.checks.some((check) => !check.pass);
    process.stdout.write(`${table(result)}\n  (${seconds.toFixed(1)} s)\n`);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    openssl: process.versions.openssl,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
    loadavgAtStart,
    loadavg: loadavg(),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    seconds: Math.round(performance.now() - began) / 1000,
    quick: context.quick,
    checks,
    failedScenarios: failed,
    scenarios: results,
  };
  writeFileSync(`${RESULTS_DIR}latest.json`, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${checksTable(checks, failed)}\n`);
  process.stdout.write(`\nwrote bench/results/latest.json (${report.seconds.toFixed(1)} s in total)\n`);
  if (failed.length > 0) process.stderr.write(`bench: failed scenarios: ${failed.map((f) => f.scenario).join(', ')}\n`);
  return failed.length > 0 || (flags.has('--strict') && missed) ? 1 : 0;
}

// Scenarios import the helpers above; only running this file starts the runner. No top-level
// await: a scenario's import of this module must not wait for the runner that imports it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      // A scenario's child exits as soon as its result is written: a handle a scenario left open
      // must not keep the runner waiting.
      if (process.argv.includes(CHILD_FLAG)) process.exit(code);
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
