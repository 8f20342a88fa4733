/**
 * Every command of README.md's quick start runs, as written, against `npm start` (`enclavekit
 * dev`, started here on a free port with its files in a temporary directory), in that directory
 * laid out as the README assumes (test/helpers/doc-workdir.ts), so the files the commands write
 * stay there and the repository is checked unchanged; the test replaces only
 * `http://127.0.0.1:8080`. `npm ci`,
 * `npm start` and `npm test` are what runs this test, so they are not run again. A command
 * followed by a `# output` comment must print that output (its first 12 characters: tokens and
 * documents differ per run).
 */
import { exec } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { startDevStack, type DevRun } from '../helpers/dev-stack.js';
import { docWorkdir, repositoryChanges, type DocWorkdir } from '../helpers/doc-workdir.js';

const execAsync = promisify(exec);

interface ReadmeCommand {
  command: string;
  expected?: string;
}

/** The commands of the README's quick start (```sh blocks), each with the output comment after it. */
export function quickStartCommands(readme: string): ReadmeCommand[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (section === undefined) throw new Error('README.md has no "## Quick start"');
  const commands: ReadmeCommand[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (line === '') continue;
      if (line.startsWith('#')) {
        const last = commands.at(-1);
        if (last !== undefined && last.expected === undefined) last.expected = line.slice(1).trim();
        continue;
      }
      commands.push({ command: line.replace(/\s+#.*$/, '') });
    }
  }
  return commands;
}

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const all = quickStartCommands(readme);
const runnable = all.filter((c) => !/^npm (ci|start|test)\b/.test(c.command));

let dir = '';
let dev: { parentUrl: string };
let run: DevRun<typeof dev> | undefined;
let work: DocWorkdir;
let repositoryBefore = '';

beforeAll(async () => {
  ensureBuilt();
  repositoryBefore = repositoryChanges();
  dir = await mkdtemp(path.join(tmpdir(), 'ek-readme-'));
  work = docWorkdir(dir);
  run = await startDevStack<typeof dev>(dir);
  dev = run.dev;
}, 120_000);

afterAll(async () => {
  await run?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('README quick start', () => {
  it('lists the commands this test runs (npx enclavekit, how to get doc.b64, the example script)', () => {
    expect(all.map((c) => c.command)).toEqual(expect.arrayContaining(['npm ci', 'npm start', 'npm test']));
    expect(runnable.some((c) => c.command.includes('> doc.b64'))).toBe(true);
    expect(runnable.some((c) => c.command.startsWith('npx enclavekit attest verify doc.b64'))).toBe(true);
    expect(readme).not.toMatch(/^enclavekit /m);
  });

  it('runs every command in order, each exits 0 and prints what the README says', async () => {
    const env = work.env({ ENCLAVEKIT_DEV_JSON: path.join(dir, '.enclavekit', 'dev.json') });
    for (const { command, expected } of runnable) {
      const local = command.replaceAll('http://127.0.0.1:8080', dev.parentUrl);
      const { stdout } = await execAsync(local, { cwd: work.cwd, env, timeout: 60_000, shell: '/bin/sh' }).catch((error: { stdout?: string; stderr?: string }) => {
        throw new Error(`README command failed: ${command}\n${error.stderr ?? ''}`);
      });
      if (expected !== undefined && stdout !== '') expect(stdout, command).toContain(expected.slice(0, 12));
    }
    expect(repositoryChanges(), 'the commands wrote nothing into the repository').toBe(repositoryBefore);
  }, 240_000);
});
