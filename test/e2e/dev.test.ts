/**
 * `npm start` (= `enclavekit dev`): the whole stack on the simulator, as a user runs it. Starts it,
 * waits for dev.json, checks /readyz and the attestation route, tokenizes a card with the README's
 * example script (the AWS Encryption SDK in a separate process), then Ctrl-C stops everything.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';

const execFileAsync = promisify(execFile);

describe('npm start: the dev stack', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('starts, serves, tokenizes a card sealed by the example script, and stops on SIGINT', async () => {
    ensureBuilt();
    dir = await mkdtemp(path.join(tmpdir(), 'ek-dev-'));
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'dev', '--dir', dir, '--port', '0', '--quiet'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const devJson = path.join(dir, 'dev.json');
    for (let i = 0; i < 600 && !existsSync(devJson) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(devJson), output).toBe(true);
    const dev = JSON.parse(readFileSync(devJson, 'utf8')) as { parentUrl: string; apiToken: string; enclavePid: number; kms: { keyArn: string } };
    expect(output).toContain('ENCLAVEKIT SIMULATOR');
    expect(output).toContain(`curl -s ${dev.parentUrl}/readyz`);

    expect((await fetch(`${dev.parentUrl}/readyz`)).status).toBe(200);
    const attestation = await fetch(`${dev.parentUrl}/v1/attestation?nonce=00112233`, { headers: { authorization: `Bearer ${dev.apiToken}` } });
    expect(attestation.status).toBe(200);

    const { stdout } = await execFileAsync(process.execPath, ['examples/tokenize-card.mjs', '4000056655665556', '12/39'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENCLAVEKIT_DEV_JSON: devJson },
    });
    const [status, body] = [stdout.slice(0, 3), JSON.parse(stdout.slice(4)) as Record<string, unknown>];
    expect(status).toBe('200');
    expect(body).toMatchObject({ bin: '400005', last4: '5556', brand: 'visa', luhnValid: true, expired: false });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // The enclave went with it.
    expect(() => process.kill(dev.enclavePid, 0)).toThrow();
  });
});
