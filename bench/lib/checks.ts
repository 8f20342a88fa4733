/**
 * Every scenario's checks side by side: one flat list for bench/results/latest.json and one table
 * printed at the end of a run, so that a single `npm run bench` shows each target with its value,
 * its verdict and how loaded the machine was while that scenario ran (the load average, os.loadavg:
 * on a shared 2-core machine a missed latency target means little without it).
 */
import type { BenchCheck } from '../main.js';

export interface RecordedCheck extends BenchCheck {
  scenario: string;
  /** 1-minute load average when the scenario began and when it ended. */
  loadavg1m: [number, number];
}

/** A scenario that failed outright: its checks never ran, which the table must not hide. */
export interface FailedScenario {
  scenario: string;
  error: string;
}

export function recordChecks(scenario: string, checks: readonly BenchCheck[], loadavg1m: [number, number]): RecordedCheck[] {
  return checks.map((check) => ({ scenario, ...check, comparison: check.comparison ?? '≥', loadavg1m }));
}

function value(number: number): string {
  return Math.abs(number) >= 100 ? number.toFixed(0) : number.toPrecision(3);
}

/** The final table: one line per check, then a line per failed scenario and the totals. */
export function checksTable(checks: readonly RecordedCheck[], failed: readonly FailedScenario[]): string {
  const lines = ['checks (value against target; load = 1-minute load average at the scenario\'s start → end):'];
  const scenarioWidth = Math.max(8, ...checks.map((check) => check.scenario.length), ...failed.map((f) => f.scenario.length));
  for (const check of checks) {
    const load = `${check.loadavg1m[0].toFixed(2)}→${check.loadavg1m[1].toFixed(2)}`;
    lines.push(`  ${check.pass ? 'PASS' : 'MISS'}  ${check.scenario.padEnd(scenarioWidth)}  ${value(check.value).padStart(7)} ${check.comparison ?? '≥'} ${String(check.target).padEnd(6)}  load ${load.padEnd(11)}  ${check.name}`);
  }
  for (const failure of failed) lines.push(`  FAIL  ${failure.scenario.padEnd(scenarioWidth)}  scenario failed, its checks did not run: ${failure.error}`);
  const passed = checks.filter((check) => check.pass).length;
  lines.push(`  ${passed} of ${checks.length} checks passed${failed.length > 0 ? `, ${failed.length} scenario(s) failed` : ''}`);
  return lines.join('\n');
}
