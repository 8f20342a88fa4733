/**
 * A process that cannot serve must not stay alive: the parent with its HTTP port taken exits
 * non-zero with one line naming the cause, although its tunnel listener and enclave link had
 * already started; so does the KMS simulator, and the enclave with an invalid configuration.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import { connectChannel } from '../../shared/transport/index.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';

function runParent(config: unknown, dir: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return (async () => {
    const file = path.join(dir, 'parent.json');
    await writeFile(file, JSON.stringify(config));
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'parent', '--config', file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    // Bounded by the test timeout only: a parent that stays alive fails the test by never exiting.
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    return { code, signal, stderr };
  })();
}

describe('the parent fails loudly', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('exits 1 with one line naming the taken port', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-parent-fail-'));
    dirs.push(dir);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runParent(
        {
          http: { host: '127.0.0.1', port },
          apiTokens: ['a-token-of-16-chars-or-more'],
          enclaves: [`unix://${path.join(dir, 'enclave.sock')}`],
          region: 'eu-west-1',
          proxy: { listen: `unix://${path.join(dir, 'proxy.sock')}` },
        },
        dir,
      );
      expect(result.signal).toBeNull();
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^enclavekit parent: fatal: .*EADDRINUSE.*127\.0\.0\.1:\d+/);
      expect(lines[0]).toContain(String(port));
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('exits 1 naming the file and rule for an invalid configuration', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-parent-fail-'));
    dirs.push(dir);
    const result = await runParent({ apiTokens: ['short'], enclaves: [], region: 'eu-west-1' }, dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^enclavekit parent: fatal: ERR_CONFIG: parent config/);
  }, 30_000);

  it('the KMS simulator with its port taken exits 1 with one line, no stack trace', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-kms-fail-'));
    dirs.push(dir);
    const run = promisify(execFile);
    await run(process.execPath, ['bin/enclavekit.js', 'sim', 'init', '--state', dir], { cwd: REPO_ROOT });
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await run(process.execPath, ['bin/enclavekit.js', 'sim', 'kms', '--state', dir, '--port', String(port)], { cwd: REPO_ROOT }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^enclavekit sim kms: fatal: .*EADDRINUSE.*:${port}\\n$`));
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('the enclave with an invalid configuration reports it over the link, then exits 1 with a fatal line', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-enclave-fail-'));
    dirs.push(dir);
    const file = path.join(dir, 'enclave.json');
    const socket = path.join(dir, 'e.sock');
    await writeFile(file, JSON.stringify({ listen: `unix://${socket}`, kms: {} }));
    const enclave = spawn(process.execPath, ['dist/enclave.js', '--config', file], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    enclave.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => enclave.once('exit', (c) => resolve(c)));
    for (let i = 0; i < 200 && !existsSync(socket) && enclave.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(socket), stderr).toBe(true);

    // What a parent (or any supervisor on the link) sees: the boot status, then the event.
    // The enclave exits once its boot-failed event is acknowledged: the acknowledgement waits for
    // the status reply, or the exit could overtake it on a busy machine.
    const events: unknown[] = [];
    let statusAnswered = (): void => undefined;
    const answered = new Promise<void>((resolve) => (statusAnswered = resolve));
    const peer = new RpcPeer(await connectChannel(`unix://${socket}`), {
      handlers: {
        log: async (body) => {
          events.push(body);
          await answered;
          return {};
        },
      },
    });
    const status = (await peer.request('status', {}, { deadlineMs: 5_000 })) as { ready: boolean; boot: { outcome: string; code: string; message: string } };
    statusAnswered();
    expect(status.ready).toBe(false);
    expect(status.boot).toMatchObject({ outcome: 'failed', code: 'ERR_CONFIG', message: expect.stringContaining('kms.region') });
    expect(await exited).toBe(1);
    peer.close();
    expect(events).toContainEqual(expect.objectContaining({ event: 'boot-failed', level: 'error', fields: expect.objectContaining({ code: 'ERR_CONFIG' }) }));

    const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.level === 'string')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: 'error', component: 'enclave', event: 'fatal', code: 'ERR_CONFIG', message: expect.stringContaining('kms.region') });
    expect(lines.filter((l) => l.event === 'fatal')).toHaveLength(1);
  }, 30_000);
});
