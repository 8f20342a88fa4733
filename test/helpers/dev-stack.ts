/**
 * `npm start` (`enclavekit dev`) for tests that run documented commands against it: started on a
 * free port with its state in `<dir>/.enclavekit`, ready once dev.json appears; stop() is Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './built.js';

export interface DevRun<T> {
  devJsonFile: string;
  dev: T;
  stop(): Promise<void>;
}

export async function startDevStack<T>(dir: string, extraArgs: readonly string[] = []): Promise<DevRun<T>> {
  const stateDir = path.join(dir, '.enclavekit');
  const devJsonFile = path.join(stateDir, 'dev.json');
  const child = spawn(process.execPath, ['bin/enclavekit.js', 'dev', '--dir', stateDir, '--port', '0', '--quiet', ...extraArgs], { cwd: REPO_ROOT, stdio: 'ignore' });
  for (let i = 0; i < 600 && !existsSync(devJsonFile) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  };
  if (!existsSync(devJsonFile)) {
    await stop();
    throw new Error(`enclavekit dev did not write ${devJsonFile}`);
  }
  return { devJsonFile, dev: JSON.parse(readFileSync(devJsonFile, 'utf8')) as T, stop };
}
