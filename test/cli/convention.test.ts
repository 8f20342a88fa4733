/**
 * One CLI convention (cli/args.ts): every command and subcommand answers --help with its usage on
 * stdout and exit 0, refuses an unknown option with exit 2 and its usage on stderr, and the
 * top-level command prints the package version.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { enclavekit } from './run.js';

beforeAll(() => ensureBuilt(), 150_000);

const COMMANDS = [
  ['attest'],
  ['attest', 'verify'],
  ['sim'],
  ['sim', 'init'],
  ['sim', 'root'],
  ['sim', 'attest'],
  ['sim', 'kms'],
  ['sim', 'ssm'],
  ['sim', 'secretsmanager'],
  ['status'],
  ['pcr'],
  ['policy'],
  ['policy', 'generate'],
  ['policy', 'explain'],
  ['seal'],
  ['secrets'],
  ['secrets', 'put'],
  ['dev'],
  ['parent'],
  ['enclave'],
];

describe.concurrent('enclavekit', () => {
  it.each([...COMMANDS.map((c) => [[...c, '--help']]), [['pcr', '-h']], [['sim', 'kms', '-h']], [['attest', 'verify', 'x.cbor', '-h']]])('%j exits 0 with its usage on stdout', async (args) => {
    const run = await enclavekit(args);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: enclavekit ${args.filter((a) => /^[a-z]+$/.test(a)).join(' ')}`));
    expect(run.stderr).toBe('');
  });

  it.each(COMMANDS.filter((c) => !['attest', 'sim', 'policy', 'secrets'].includes(c.join(' '))).map((c) => [c]))('%j refuses an unknown option: exit 2, usage on stderr', async (command) => {
    const run = await enclavekit([...command, '--no-such-option']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--no-such-option'");
    expect(run.stderr).toContain(`usage: enclavekit ${command.join(' ')}`);
    expect(run.stdout).toBe('');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const run = await enclavekit(['--version']);
    expect(run).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('no command: usage on stderr, exit 2; --help: usage on stdout, exit 0; an unknown or inherited name is unknown', async () => {
    const none = await enclavekit([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^usage: enclavekit <command>/);
    const help = await enclavekit(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('enclavekit --version');
    for (const name of ['nope', 'constructor', 'toString']) {
      const run = await enclavekit([name]);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`unknown command '${name}'`);
    }
  });
});

describe('one usage error', () => {
  it('cli/ declares exactly one UsageError class, in cli/args.ts', async () => {
    const { execFileSync } = await import('node:child_process');
    const hits = execFileSync('grep', ['-rln', 'class UsageError', 'cli'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n');
    expect(hits).toEqual(['cli/args.ts']);
  });
});
