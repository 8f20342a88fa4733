/** Runs `bin/enclavekit.js` in a child process (after scripts/build.mjs, test/helpers/built.ts). */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../helpers/built.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function enclavekit(args: readonly string[], options: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO_ROOT}/bin/enclavekit.js`, ...args], { cwd: options.cwd ?? REPO_ROOT, timeout: 60_000, ...(options.env === undefined ? {} : { env: options.env }) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
    child.stdin.end(options.input ?? '');
  });
}
