/**
 * The bench's final table of checks (bench/lib/checks.ts): every scenario's checks with target,
 * verdict and load, failed scenarios listed rather than silently missing.
 */
import { describe, expect, it } from 'vitest';
import { checksTable, recordChecks } from '../../bench/lib/checks.js';

describe('bench checks table', () => {
  it('lists each check with its verdict, target and load, and counts the passes', () => {
    const checks = [
      ...recordChecks('tokenize', [{ name: 'p99 ms at half of max', value: 12.5, target: 10, comparison: '≤', pass: false, detail: '' }], [0.8, 1.1]),
      ...recordChecks('hpke', [{ name: 'open vs generic', value: 1.9, target: 1.5, pass: true, detail: '' }], [1.1, 1.2]),
    ];
    expect(checks.map((check) => [check.scenario, check.comparison])).toEqual([['tokenize', '≤'], ['hpke', '≥']]);
    const lines = checksTable(checks, [{ scenario: 'workers', error: 'Error: boom' }]).split('\n');
    expect(lines.find((line) => line.includes('p99 ms at half of max'))).toMatch(/^ {2}MISS {2}tokenize +12\.5 ≤ 10 +load 0\.80→1\.10/);
    expect(lines.find((line) => line.includes('open vs generic'))).toMatch(/^ {2}PASS {2}hpke +1\.90 ≥ 1\.5/);
    expect(lines).toContain('  FAIL  workers   scenario failed, its checks did not run: Error: boom');
    expect(lines.at(-1)).toBe('  1 of 2 checks passed, 1 scenario(s) failed');
  });
});
