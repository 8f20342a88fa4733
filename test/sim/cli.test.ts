/**
 * `enclavekit sim init|root|attest` and `enclavekit pcr`, run as a user runs them: the built CLI
 * in a child process (node bin/enclavekit.js after scripts/build.mjs).
 */
import { ensureBuilt } from '../helpers/built.js';
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../shared/cbor.js';
import { ZERO_PCR_HEX, pcrOfBytes, pcrOfString } from '../../shared/pcr.js';
import { SIMULATOR_BANNER_MARKER } from '../../sim/announce.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { coseParts } from './cbor-shape.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ek-sim-cli-'));
const state = join(work, 'state');

function cli(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/enclavekit.js', ...args], { cwd: repo, timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function payloadOf(doc: Uint8Array): Map<string, unknown> {
  return decodeCbor(coseParts(doc).payload) as Map<string, unknown>;
}

function pcrHex(doc: Uint8Array, index: number): string {
  return Buffer.from((payloadOf(doc).get('pcrs') as Map<number, Uint8Array>).get(index) as Uint8Array).toString('hex');
}

beforeAll(() => {
  ensureBuilt();
  const init = cli(['sim', 'init', '--state', state]);
  expect(init.status, init.stderr).toBe(0);
}, 150_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('enclavekit sim init / root', () => {
  it('creates the state directory and keeps its root on a second run', () => {
    expect(statSync(join(state, 'pki', 'root.key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, 'credentials.json')).mode & 0o777).toBe(0o600);
    const root = readFileSync(join(state, 'root.pem'));
    const again = cli(['sim', 'init', '--state', state]);
    expect(again.status).toBe(0);
    expect(again.stdout.toString()).toContain('(kept)');
    expect(readFileSync(join(state, 'root.pem'))).toEqual(root);
  });

  it('prints the root PEM, which is the root of every document', () => {
    const root = cli(['sim', 'root', '--state', state]);
    expect(root.status).toBe(0);
    expect(root.stdout.toString()).toBe(readFileSync(join(state, 'root.pem'), 'utf8'));
    const doc = cli(['sim', 'attest', '--state', state]).stdout;
    const bundleRoot = (payloadOf(doc).get('cabundle') as Uint8Array[])[0] as Uint8Array;
    expect(new X509Certificate(bundleRoot).fingerprint256).toBe(new X509Certificate(root.stdout).fingerprint256);
  });

  it('uses exit code 2 for usage errors and 1 for a missing state', () => {
    expect(cli(['sim', 'init']).status).toBe(2);
    expect(cli(['sim', 'init', '--state', join(work, 'x'), '--account', '12']).status).toBe(2);
    expect(cli(['sim', 'nope']).status).toBe(2);
    expect(cli(['sim', 'root']).status).toBe(2);
    const missing = cli(['sim', 'root', '--state', join(work, 'missing')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('ERR_SIM_STATE');
  });
});

describe('enclavekit sim attest', () => {
  it('writes a signed document to stdout with the requested fields, and announces the simulator on stderr', () => {
    const result = cli(['sim', 'attest', '--state', state, '--user-data', 'cafe', '--nonce', '00ff', '--instance-id', 'i-0123456789abcdef0']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(SIMULATOR_BANNER_MARKER);
    const payload = payloadOf(result.stdout);
    expect(result.stdout[0]).toBe(0x84);
    expect(Buffer.from(payload.get('user_data') as Uint8Array).toString('hex')).toBe('cafe');
    expect(Buffer.from(payload.get('nonce') as Uint8Array).toString('hex')).toBe('00ff');
    expect(payload.get('public_key')).toBeNull();
    expect(payload.get('module_id')).toMatch(/^i-0123456789abcdef0-enc[0-9a-f]{16}$/);
    expect(pcrHex(result.stdout, 4)).toBe(pcrOfString('i-0123456789abcdef0'));
    expect(pcrHex(result.stdout, 3)).toBe(ZERO_PCR_HEX);
  });

  it('measures --bundle like `enclavekit pcr`, takes --pcr overrides and --role-arn, writes --out', () => {
    const bundle = join(work, 'bundle.js');
    writeFileSync(bundle, 'console.log("hello from the enclave");\n');
    const out = join(work, 'doc.cbor');
    const pcr5 = 'ab'.repeat(48);
    const result = cli(['sim', 'attest', '--state', state, '--bundle', bundle, '--pcr', `5=${pcr5}`, '--role-arn', 'arn:aws:iam::111122223333:role/enclave', '--out', out]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.length).toBe(0);
    const doc = new Uint8Array(readFileSync(out));
    const printed = cli(['pcr', bundle]);
    expect(printed.status).toBe(0);
    expect(printed.stdout.toString()).toBe(`${pcrOfBytes(readFileSync(bundle))}\n`);
    expect(pcrHex(doc, 2)).toBe(printed.stdout.toString().trim());
    expect(pcrHex(doc, 0)).toBe(measureEnclave({ appBundle: readFileSync(bundle) })[0]);
    expect(pcrHex(doc, 5)).toBe(pcr5);
    expect(pcrHex(doc, 3)).toBe(pcrOfString('arn:aws:iam::111122223333:role/enclave'));
  });

  it('puts a PEM or DER public key into public_key as DER SubjectPublicKeyInfo', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    writeFileSync(join(work, 'key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(work, 'key.der'), spki);
    for (const file of ['key.pem', 'key.der']) {
      const result = cli(['sim', 'attest', '--state', state, '--public-key', join(work, file)]);
      expect(result.status, result.stderr).toBe(0);
      expect(Buffer.from(payloadOf(result.stdout).get('public_key') as Uint8Array)).toEqual(spki);
    }
    writeFileSync(join(work, 'junk.der'), 'not a key');
    expect(cli(['sim', 'attest', '--state', state, '--public-key', join(work, 'junk.der')]).status).toBe(2);
  });

  it('--debug gives PCR0-2 all zero and keeps PCR4', () => {
    const result = cli(['sim', 'attest', '--state', state, '--debug']);
    expect(result.status, result.stderr).toBe(0);
    for (const index of [0, 1, 2]) expect(pcrHex(result.stdout, index)).toBe(ZERO_PCR_HEX);
    expect(pcrHex(result.stdout, 4)).not.toBe(ZERO_PCR_HEX);
  });

  it('rejects malformed options with exit code 2', () => {
    const bad = [
      ['--pcr', '16=' + '00'.repeat(48)],
      ['--pcr', '0=abc'],
      ['--debug', '--pcr', `0=${'11'.repeat(48)}`],
      ['--user-data', 'abc'],
      ['--instance-id', 'i-123'],
      ['--unknown'],
    ];
    for (const args of bad) expect(cli(['sim', 'attest', '--state', state, ...args]).status, args.join(' ')).toBe(2);
  });

  it('fails (exit 1) with the NSM error for user_data over 1024 bytes', () => {
    const result = cli(['sim', 'attest', '--state', state, '--user-data', '00'.repeat(1025)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('InputTooLarge');
  });
});

describe('a sim attest document and enclavekit attest verify', () => {
  it('passes with --root <sim root> and the measured PCRs, fails without --root and with another PCR0', () => {
    const bundle = join(work, 'app.js');
    writeFileSync(bundle, 'export const version = 1;\n');
    const doc = join(work, 'done-when.cbor');
    expect(cli(['sim', 'attest', '--state', state, '--bundle', bundle, '--out', doc]).status).toBe(0);
    const rootFile = join(work, 'sim-root.pem');
    writeFileSync(rootFile, cli(['sim', 'root', '--state', state]).stdout);
    const measured = measureEnclave({ appBundle: readFileSync(bundle) });
    const pcrArgs = [0, 1, 2].flatMap((i) => ['--pcr', `${i}=${measured[i] as string}`]);

    const ok = cli(['attest', 'verify', doc, '--root', rootFile, ...pcrArgs]);
    expect(ok.status, ok.stderr).toBe(0);
    const noRoot = cli(['attest', 'verify', doc, ...pcrArgs]);
    expect(noRoot.status).toBe(1);
    expect(noRoot.stderr).toContain('ERR_ATTESTATION_CHAIN');
    const otherPcr0 = cli(['attest', 'verify', doc, '--root', rootFile, '--pcr', `0=${'11'.repeat(48)}`]);
    expect(otherPcr0.status).toBe(1);
    expect(otherPcr0.stderr).toContain('ERR_PCR_MISMATCH');
  });
});

describe('enclavekit pcr', () => {
  it('exits 2 without exactly one file and 1 for an unreadable file', () => {
    expect(cli(['pcr', 'a', 'b']).status).toBe(2);
    expect(cli(['pcr', join(work, 'does-not-exist')]).status).toBe(1);
  });
});
