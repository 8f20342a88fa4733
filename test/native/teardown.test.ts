/**
 * Environment teardown with sockets still open: a worker thread that is terminated while it holds a
 * listener, an accepted stream and a connect in flight. Before the addon's async cleanup hook, the
 * worker's loop ran uv_close callbacks after Node had unloaded the addon (a segfault), so this runs
 * in a child process and checks its exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addonCandidates } from '../../shared/native/addon.js';
import { addonMissing, tempSocketDir } from './helpers.js';

const dir = tempSocketDir('ek-teardown-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(addonMissing)('environment teardown', () => {
  it('terminates workers and exits the process cleanly with sockets still open', () => {
    const addonPath = addonCandidates().find((candidate) => existsSync(candidate))!;
    const workerCode = `
      const { parentPort, workerData } = require('node:worker_threads');
      const a = require(workerData.addon);
      const fd = a.unixListen(workerData.path, 16);
      const listener = new a.NativeSocket(fd, 1, (kind, acceptedFd) => {
        if (kind === 6) new a.NativeSocket(acceptedFd, 0, () => {}).readStart();
      });
      listener.readStart();
      new a.NativeSocket(a.unixConnect(workerData.path), 2, () => {});
      parentPort.postMessage('ready');
    `;
    const main = `
      import { Worker } from 'node:worker_threads';
      const workerCode = ${JSON.stringify(workerCode)};
      for (let i = 0; i < 4; i += 1) {
        const worker = new Worker(workerCode, { eval: true, execArgv: [], workerData: { addon: ${JSON.stringify(addonPath)}, path: ${JSON.stringify(join(dir, 'w'))} + i } });
        await new Promise((resolve) => worker.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, 10));
        await worker.terminate();
      }
      // The main environment too: exit with a listener and a stream open.
      const { createRequire } = await import('node:module');
      const a = createRequire(import.meta.url)(${JSON.stringify(addonPath)});
      const fd = a.unixListen(${JSON.stringify(join(dir, 'main'))}, 16);
      new a.NativeSocket(fd, 1, () => {}).readStart();
      console.log('ok');
      process.exit(0);
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8', timeout: 30_000 });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('ok');
  });
});
