/**
 * deploy/bin/enclavekit-enclave, the process systemd runs for each enclave
 * (deploy/systemd/enclavekit-enclave@.service), against the nitro-cli stand-in: it starts the
 * enclave with the unit's settings, replaces a leftover enclave of the same name, exits 1 when the
 * enclave is gone (so systemd restarts it), and terminates the enclave on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFakeTools } from './fake-tools.js';
import { repoRoot, run, tempDir } from './helpers.js';

const SCRIPT = path.join(repoRoot, 'deploy/bin/enclavekit-enclave');

interface FakeEnclave { EnclaveName: string; EnclaveID: string; State: string; Flags: string }

let dir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

const state = (): FakeEnclave[] => {
  const file = path.join(dir, 'state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FakeEnclave[]) : [];
};
const calls = (): string[][] =>
  existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : [];

/** Polls (bounded) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function start(): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string; stdout: string }> } {
  const child = spawn(SCRIPT, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr, stdout })));
  return { child, exited };
}

beforeEach(() => {
  dir = tempDir('supervisor');
  const eif = path.join(dir, 'enclave.eif');
  writeFileSync(eif, 'EIF');
  env = {
    PATH: `${installFakeTools(dir, ['nitro-cli'])}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
    NITRO_CLI: path.join(dir, 'bin', 'nitro-cli'),
    FAKE_TOOLS_DIR: dir,
    POLL_SECONDS: '0.1',
    EIF_PATH: eif,
    CPU_COUNT: '2',
    MEMORY_MIB: '2048',
    ENCLAVE_CID: '16',
    ENCLAVE_NAME: 'enclavekit-1',
  };
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('deploy/bin/enclavekit-enclave', () => {
  it('starts the enclave with the unit settings and terminates it on SIGTERM', async () => {
    const { child, exited } = start();
    await until(() => state().length === 1, 'the enclave to start');
    expect(calls()).toContainEqual(['nitro-cli', 'run-enclave', '--eif-path', env.EIF_PATH!, '--cpu-count', '2', '--memory', '2048', '--enclave-cid', '16', '--enclave-name', 'enclavekit-1']);
    expect(state()[0]).toMatchObject({ EnclaveName: 'enclavekit-1', State: 'RUNNING', Flags: 'NONE' });
    child.kill('SIGTERM');
    const { code } = await exited;
    expect(code).toBe(0);
    expect(state()).toEqual([]);
    expect(calls().at(-1)?.slice(0, 2)).toEqual(['nitro-cli', 'terminate-enclave']);
  });

  it('exits 1 when the enclave goes away, so that systemd restarts it', async () => {
    const { exited } = start();
    await until(() => state().length === 1, 'the enclave to start');
    writeFileSync(path.join(dir, 'state.json'), '[]'); // the enclave app exited; init rebooted the enclave
    const { code, stderr } = await exited;
    expect(code).toBe(1);
    expect(stderr).toContain('enclave enclavekit-1 is gone');
  });

  it('replaces a leftover enclave of the same name, leaves others alone, and passes DEBUG_MODE=1 on', async () => {
    const leftovers: FakeEnclave[] = [
      { EnclaveName: 'enclavekit-1', EnclaveID: 'i-0123456789abcdef0-encold', State: 'RUNNING', Flags: 'NONE' },
      { EnclaveName: 'enclavekit-2', EnclaveID: 'i-0123456789abcdef0-encother', State: 'RUNNING', Flags: 'NONE' },
    ];
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify(leftovers));
    env.DEBUG_MODE = '1';
    const { child, exited } = start();
    await until(() => state().some((e) => e.EnclaveName === 'enclavekit-1' && e.EnclaveID !== 'i-0123456789abcdef0-encold'), 'the replacement');
    expect(calls()).toContainEqual(['nitro-cli', 'terminate-enclave', '--enclave-id', 'i-0123456789abcdef0-encold']);
    expect(state().map((e) => e.EnclaveName).sort()).toEqual(['enclavekit-1', 'enclavekit-2']);
    expect(state().find((e) => e.EnclaveName === 'enclavekit-1')?.Flags).toBe('DEBUG_MODE');
    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
    expect(state().map((e) => e.EnclaveName)).toEqual(['enclavekit-2']);
  });

  it('refuses to start without its settings', async () => {
    const { EIF_PATH: _omitted, ...rest } = env;
    const result = await run(SCRIPT, [], { env: rest });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('EIF_PATH is not set');
    expect(calls()).toEqual([]);
  });
});
