// `enclavekit attest verify` as scripts use it: a child process running bin/enclavekit.js after
// scripts/build.mjs. Exit 0 valid, 1 invalid (stderr `CODE: message`), 2 usage.
import { ensureBuilt } from '../helpers/built.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDocumentInput, parseVerifyArgs, UsageError } from '../../cli/commands/attest.js';
import { DAY_MS, EXPECTED, REPO_ROOT, signedDoc, standardSyntheticChain, T0, VECTOR_DIR } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'ek-attest-cli-'));
const vector = (file: string) => join(VECTOR_DIR, file);
const doc2 = EXPECTED.find((e) => e.file === 'real_doc_2.cbor')!; // production PCRs, 256-byte nonce
const doc12 = EXPECTED.find((e) => e.file === 'real_doc_12.cbor')!; // debug, user_data "Hello World!\n"

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process; async so that the cases of this file run concurrently. */
function cli(args: string[], input?: Uint8Array | string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/enclavekit.js', 'attest', ...args], { cwd: REPO_ROOT, timeout: 30_000 });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
    child.stdin.end(input ?? '');
  });
}

let syntheticDoc: string;
let syntheticRoot: string;
beforeAll(async () => {
  ensureBuilt();
  const chain = await standardSyntheticChain();
  syntheticDoc = join(work, 'synthetic.cbor');
  syntheticRoot = join(work, 'root.pem');
  writeFileSync(syntheticDoc, signedDoc(chain, { nonce: Uint8Array.of(0xca, 0xfe) }));
  writeFileSync(syntheticRoot, chain[0]!.pem);
}, 150_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.concurrent('valid documents (exit 0)', () => {
  it('binary file, --at document, --pcr for PCR0-2: a readable summary', async () => {
    const pcrs = [0, 1, 2].flatMap((i) => ['--pcr', `${i}=${doc2.nonzero_pcrs[String(i)]}`]);
    const run = await cli(['verify', vector(doc2.file), '--at', 'document', ...pcrs]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^valid\n/);
    expect(run.stdout).toContain(`module_id   ${doc2.module_id}`);
    expect(run.stdout).toContain(`PCR8        ${doc2.nonzero_pcrs['8']}`);
  });

  it('--json prints exactly the contracted fields, bytes as hex or null', async () => {
    const run = await cli(['verify', vector(doc12.file), '--at', String(doc12.timestamp_ms), '--any-pcrs', '--allow-debug', '--json']);
    expect(run.status).toBe(0);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['valid', 'moduleId', 'timestamp', 'pcrs', 'publicKey', 'userData', 'nonce']);
    expect(json.valid).toBe(true);
    expect(json.moduleId).toBe(doc12.module_id);
    expect(json.timestamp).toBe(doc12.timestamp_ms);
    expect(Object.keys(json.pcrs as object)).toEqual(Array.from({ length: 16 }, (_, i) => String(i)));
    expect((json.pcrs as Record<string, string>)['4']).toBe(doc12.nonzero_pcrs['4']);
    expect(json.userData).toBe(Buffer.from('Hello World!\n').toString('hex'));
    expect(json.nonce).toBe(Buffer.from('Nonce\n').toString('hex'));
    expect(json.publicKey).toMatch(/^30820122300d06092a864886f70d0101010500/);
  });

  it('base64 on stdin (-) and base64 with line breaks in a file', async () => {
    const bytes = readFileSync(vector('real_doc_2.cbor'));
    const stdin = await cli(['verify', '-', '--at', 'document', '--any-pcrs', '--json'], bytes.toString('base64'));
    expect(stdin.status).toBe(0);
    expect(JSON.parse(stdin.stdout).moduleId).toBe(doc2.module_id);
    const wrapped = join(work, 'doc2.b64');
    writeFileSync(wrapped, `${bytes.toString('base64').replace(/.{64}/g, '$&\n')}\n`);
    expect((await cli(['verify', wrapped, '--at', 'document', '--any-pcrs'])).status).toBe(0);
    expect((await cli(['verify', '-', '--at', 'document', '--any-pcrs'], bytes)).status).toBe(0);
  });

  it('--root replaces the default anchor; --nonce matches', async () => {
    const run = await cli(['verify', syntheticDoc, '--root', syntheticRoot, '--at', String(T0), '--any-pcrs', '--nonce', 'CAFE']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe.concurrent('invalid documents (exit 1, code and message on stderr)', () => {
  const expectInvalid = (run: Run, code: string) => {
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^${code}: .+\\n$`));
  };

  it('default --at is now: a stored document has long expired', async () => {
    expectInvalid(await cli(['verify', vector(doc2.file), '--any-pcrs']), 'ERR_ATTESTATION_EXPIRED');
  });

  it('one day after its timestamp', async () => {
    expectInvalid(await cli(['verify', vector(doc2.file), '--any-pcrs', '--at', String(doc2.timestamp_ms + DAY_MS)]), 'ERR_ATTESTATION_EXPIRED');
  });

  it('a wrong PCR, a debug document, a wrong nonce', async () => {
    expectInvalid(await cli(['verify', vector(doc2.file), '--at', 'document', '--pcr', `0=${'00'.repeat(48)}`]), 'ERR_PCR_MISMATCH');
    expectInvalid(await cli(['verify', vector(doc12.file), '--at', 'document', '--any-pcrs']), 'ERR_ATTESTATION_DEBUG_MODE');
    expectInvalid(await cli(['verify', vector(doc2.file), '--at', 'document', '--any-pcrs', '--nonce', '00']), 'ERR_NONCE_MISMATCH');
  });

  it('under the default root, a document of another PKI', async () => {
    expectInvalid(await cli(['verify', syntheticDoc, '--at', String(T0), '--any-pcrs']), 'ERR_ATTESTATION_CHAIN');
  });

  it('truncated and garbage input', async () => {
    const truncated = join(work, 'truncated.cbor');
    writeFileSync(truncated, readFileSync(vector('real_doc_2.cbor')).subarray(0, 1000));
    expectInvalid(await cli(['verify', truncated, '--at', 'document', '--any-pcrs']), 'ERR_ATTESTATION_MALFORMED');
    expectInvalid(await cli(['verify', '-', '--at', 'document', '--any-pcrs'], 'not a document'), 'ERR_ATTESTATION_MALFORMED');
  });

  it('--json prints {"valid": false, "error": {code, message}}', async () => {
    const run = await cli(['verify', vector(doc12.file), '--at', 'document', '--any-pcrs', '--json']);
    expect(run.status).toBe(1);
    const json = JSON.parse(run.stdout) as { valid: boolean; error: { code: string; message: string } };
    expect(json).toEqual({ valid: false, error: { code: 'ERR_ATTESTATION_DEBUG_MODE', message: expect.any(String) } });
    expect(run.stderr).toBe(`ERR_ATTESTATION_DEBUG_MODE: ${json.error.message}\n`);
  });
});

describe.concurrent('usage errors (exit 2)', () => {
  const file = vector('real_doc_2.cbor');
  it.each([
    ['no subcommand', []],
    ['an unknown option', ['verify', file, '--any-pcrs', '--bogus']],
    ['no --pcr and no --any-pcrs (fail closed)', ['verify', file]],
    ['a missing FILE', ['verify', join(work, 'missing.cbor'), '--any-pcrs']],
    ['a --root without PEM', ['verify', file, '--any-pcrs', '--root', file]],
  ])('%s', async (_name, args) => {
    const run = await cli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage: enclavekit attest verify FILE');
    expect(run.stdout).toBe('');
  });

  it('--help prints the usage and exits 0', async () => {
    const run = await cli(['verify', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--at WHEN');
  });
});

// The argument rules in-process (each also reaches exit 2 through the same UsageError path).
describe('parseVerifyArgs', () => {
  const file = 'doc.cbor';
  it.each([
    ['no FILE', ['--any-pcrs']],
    ['two FILEs', [file, file, '--any-pcrs']],
    ['an unknown option', [file, '--any-pcrs', '--bogus']],
    ['no --pcr and no --any-pcrs (fail closed)', [file]],
    ['--pcr without =', [file, '--pcr', '0']],
    ['--pcr index 32', [file, '--pcr', `32=${'00'.repeat(48)}`]],
    ['--pcr with short hex', [file, '--pcr', '0=abcd']],
    ['--pcr twice for one index', [file, '--pcr', `1=${'00'.repeat(48)}`, '--pcr', `1=${'11'.repeat(48)}`]],
    ['--at yesterday', [file, '--any-pcrs', '--at', 'yesterday']],
    ['--at beyond safe integers', [file, '--any-pcrs', '--at', '99999999999999999']],
    ['--nonce not hex', [file, '--any-pcrs', '--nonce', 'xyz']],
  ])('%s → UsageError', (_name, args) => {
    expect(() => parseVerifyArgs(args)).toThrow(UsageError);
  });

  it('reads every option', () => {
    const pcr = 'AB'.repeat(48);
    expect(parseVerifyArgs([file, '--at', '1700000000000', '--root', 'a.pem', '--root', 'b.pem', '--pcr', `0=${pcr}`, '--pcr', `15=${'00'.repeat(48)}`, '--allow-debug', '--nonce', '0aFF', '--json'])).toEqual({
      file,
      at: 1_700_000_000_000,
      rootFiles: ['a.pem', 'b.pem'],
      pcrs: { 0: pcr.toLowerCase(), 15: '00'.repeat(48) },
      anyPcrs: false,
      allowDebug: true,
      nitroTpm: false,
      nonce: Uint8Array.of(0x0a, 0xff),
      json: true,
    });
    expect(parseVerifyArgs(['-', '--any-pcrs'])).toMatchObject({ file: '-', at: 'now', anyPcrs: true, nonce: undefined, json: false });
    expect(parseVerifyArgs([file, '--any-pcrs', '--at', 'document']).at).toBe('document');
  });

  it('decodeDocumentInput: binary as is, base64 (standard, URL-safe, wrapped) decoded, anything else unchanged', () => {
    const doc = new Uint8Array(readFileSync(vector('real_doc_2.cbor')));
    expect(decodeDocumentInput(doc)).toBe(doc);
    const b64 = Buffer.from(doc).toString('base64');
    expect(decodeDocumentInput(new Uint8Array(Buffer.from(b64)))).toEqual(doc);
    expect(decodeDocumentInput(new Uint8Array(Buffer.from(Buffer.from(doc).toString('base64url'))))).toEqual(doc);
    expect(decodeDocumentInput(new Uint8Array(Buffer.from(`${b64.replace(/.{76}/g, '$&\r\n')}\n`)))).toEqual(doc);
    const junk = new Uint8Array(Buffer.from('not base64!'));
    expect(decodeDocumentInput(junk)).toBe(junk);
  });
});
