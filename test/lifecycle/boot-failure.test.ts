/**
 * A production enclave's console is unreadable, so a boot failure must reach the parent: here the
 * enclave's NSM is unreachable (as with a missing driver). The enclave's link answers first, its
 * `boot-failed` event reaches the parent, the enclave exits 1, and the parent's /readyz and
 * `enclavekit status` keep saying why after it is gone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { startStack, type Stack } from '../e2e/stack.js';

const execFileAsync = promisify(execFile);

describe('boot diagnostics', () => {
  let stack: Stack;
  beforeAll(async () => {
    ensureBuilt();
    stack = await startStack({ enclaveConfig: { nsm: 'sim+unix:///nonexistent/enclavekit-nsm.sock' } });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('an enclave that fails at boot has its reason visible at the parent', async () => {
    const enclave = stack.enclave();
    const code = await new Promise<number | null>((resolve) => (enclave.exitCode !== null ? resolve(enclave.exitCode) : enclave.once('exit', (c) => resolve(c))));
    expect(code).toBe(1);
    expect(stack.enclaveOutput()).toMatch(/"level":"error","component":"enclave","event":"fatal","code":"ERR_NSM_UNAVAILABLE"/);

    // The parent got the reason over the link before the enclave exited, and keeps it.
    const readyz = await stack.api('/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.json.error.message).toMatch(/^enclave boot failed: ERR_NSM_UNAVAILABLE: /);
    // Events from before any parent was connected were kept and delivered, not dropped.
    const relayed = stack.parentLog().split('\n').filter((l) => l.includes('"enclave-event"')).map((l) => JSON.parse(l) as { event?: string; level?: string });
    expect(relayed.map((e) => e.event)).toEqual(expect.arrayContaining(['listening', 'boot-failed']));
    expect(relayed.find((e) => e.event === 'boot-failed')?.level).toBe('error');
    const logged = stack.parentLog().split('\n').filter((l) => l.includes('"enclave-boot-failed"'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', reason: expect.stringMatching(/^ERR_NSM_UNAVAILABLE/) });

    const status = await execFileAsync(process.execPath, ['bin/enclavekit.js', 'status', '--url', stack.parentUrl], { cwd: REPO_ROOT }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/not ready: enclave boot failed: ERR_NSM_UNAVAILABLE/);
  }, 60_000);
});
