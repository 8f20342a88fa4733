/**
 * sim/kms/README.md's operations table against the AWS SDK's command list and the simulator's
 * dispatch table, both ways: every operation @aws-sdk/client-kms models has a row, every "yes" row is
 * an operation the simulator answers (and nothing else is), and every "no" row states a reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../sim/kms/operations/index.js';

const README = readFileSync(join(import.meta.dirname, '../../sim/kms/README.md'), 'utf8');

function sdkOperations(): string[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@aws-sdk/client-kms/package.json'));
  return readdirSync(join(root, 'dist-types/commands'))
    .filter((f) => f.endsWith('Command.d.ts'))
    .map((f) => f.slice(0, -'Command.d.ts'.length))
    .sort();
}

function tableRows(): Map<string, { supported: string; notes: string }> {
  const section = README.slice(README.indexOf('## Operations'));
  const rows = new Map<string, { supported: string; notes: string }>();
  for (const line of section.split('\n')) {
    const m = /^\| ([A-Z][A-Za-z]+) \| (yes|no) \|(.*)\|$/.exec(line);
    if (m !== null) rows.set(m[1]!, { supported: m[2]!, notes: m[3]!.trim() });
  }
  return rows;
}

describe('sim/kms/README.md operations table', () => {
  const rows = tableRows();
  const sdk = sdkOperations();

  it('has a row for every operation the SDK models, and no other', () => {
    expect(sdk.length).toBeGreaterThan(50);
    expect([...rows.keys()].sort()).toEqual(sdk);
  });

  it('marks exactly the operations the simulator answers as supported', () => {
    const supported = [...rows].filter(([, r]) => r.supported === 'yes').map(([name]) => name).sort();
    expect(supported).toEqual(Object.keys(OPERATIONS).sort());
  });

  it('states a reason for every unsupported operation', () => {
    for (const [name, r] of rows) if (r.supported === 'no') expect(r.notes, name).not.toBe('');
  });
});
