/**
 * `enclavekit sim nsm`: a client of the socket (the enclave's own NSM client, as a user's enclave
 * app would use it) gets attestation documents that verify with the state directory's simulated
 * root and the PCRs measured from --bundle, and that fail with the AWS root or another PCR0.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NsmClient } from '../../enclave/nsm/client.js';
import { connectNsmSocket } from '../../enclave/nsm/socket.js';
import { verifyAttestation } from '../../shared/attestation/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { simRootPemPath } from '../../sim/state.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('enclavekit sim nsm', () => {
  it('serves documents that verify with the simulated root and the bundle it measured', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-sim-nsm-'));
    dirs.push(dir);
    const bundle = path.join(dir, 'app.js');
    writeFileSync(bundle, 'console.log("my enclave app");\n');
    const socket = path.join(dir, 'nsm.sock');
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'sim', 'nsm', '--state', path.join(dir, 'sim'), '--socket', socket, '--bundle', bundle], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 300 && !stdout.includes('PCR4=') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stdout, stderr).toContain(`nsm: sim+unix://${socket}`);
    // The simulator says so loudly.
    expect(stderr).toContain('SIMULATOR');

    const pcr0 = measureEnclave({ appBundle: readFileSync(bundle) })[0]!;
    expect(stdout).toContain(`PCR0=${pcr0}`);
    const nsm = new NsmClient(connectNsmSocket(socket));
    const nonce = new Uint8Array([1, 2, 3, 4]);
    const document = await nsm.attest({ nonce });
    await nsm.close();

    const root = readFileSync(simRootPemPath(path.join(dir, 'sim')), 'utf8');
    const verified = verifyAttestation(document, { at: Date.now(), roots: [root], expectedPcrs: { 0: pcr0 }, nonce, maxAgeMs: 60_000 });
    expect(Buffer.from(verified.nonce ?? []).toString('hex')).toBe('01020304');
    expect(() => verifyAttestation(document, { at: Date.now(), roots: [root], expectedPcrs: { 0: '00'.repeat(47) + '01' }, maxAgeMs: 60_000 })).toThrowError(expect.objectContaining({ code: 'ERR_PCR_MISMATCH' }));
    // Without the simulated root (the default is AWS's), the chain does not verify.
    expect(() => verifyAttestation(document, { at: Date.now(), expectedPcrs: { 0: pcr0 }, maxAgeMs: 60_000 })).toThrowError(expect.objectContaining({ code: expect.stringMatching(/^ERR_ATTESTATION_/) }));

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);

  it('needs --socket', async () => {
    ensureBuilt();
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'sim', 'nsm', '--state', '/nonexistent'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain('--socket');
  });
});
