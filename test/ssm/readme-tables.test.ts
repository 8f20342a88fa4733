/**
 * The operations tables of sim/ssm/README.md and sim/secrets-manager/README.md against what each
 * simulator answers and what the SDK models: every operation named in a row is one the simulator
 * dispatches (and every dispatched one has a row), and each is a command of the unmodified client.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretsManagerOperations } from '../../sim/secrets-manager/server.js';
import type { SecretsContext } from '../../sim/secrets-manager/context.js';
import { ssmOperations } from '../../sim/ssm/server.js';
import type { SsmContext } from '../../sim/ssm/context.js';

function tableOperations(readme: string): string[] {
  const text = readFileSync(join(import.meta.dirname, '../..', readme), 'utf8');
  const section = text.slice(text.indexOf('## Operations'));
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\| ([A-Z][A-Za-z, ]+) \|/.exec(line)?.[1];
    if (first !== undefined) names.push(...first.split(', '));
  }
  return names.sort();
}

function sdkCommands(pkg: string): string[] {
  const root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  return readdirSync(join(root, 'dist-types/commands')).filter((f) => f.endsWith('Command.d.ts')).map((f) => f.slice(0, -'Command.d.ts'.length));
}

describe('simulator READMEs list exactly the operations served', () => {
  it('SSM', () => {
    // The operation factories only close over the context; building the table does not use it.
    const served = Object.keys(ssmOperations({} as SsmContext)).sort();
    expect(tableOperations('sim/ssm/README.md')).toEqual(served);
    const sdk = sdkCommands('@aws-sdk/client-ssm');
    for (const name of served) expect(sdk, name).toContain(name);
  });

  it('Secrets Manager', () => {
    const served = Object.keys(secretsManagerOperations({} as SecretsContext)).sort();
    expect(tableOperations('sim/secrets-manager/README.md')).toEqual(served);
    const sdk = sdkCommands('@aws-sdk/client-secrets-manager');
    for (const name of served) expect(sdk, name).toContain(name);
  });
});
