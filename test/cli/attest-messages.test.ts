/**
 * `enclavekit attest verify` failures a user can act on: a PCR mismatch shows expected and actual
 * for each differing PCR, --max-age-ms refuses an old document, and a document from enclavekit's
 * simulator verified under the default root suggests --root.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/built.js';
import { EXPECTED, VECTOR_DIR } from '../attestation/helpers.js';
import { enclavekit } from './run.js';

const work = mkdtempSync(join(tmpdir(), 'ek-attest-msg-'));
const doc2 = EXPECTED.find((e) => e.file === 'real_doc_2.cbor')!;
const doc2File = join(VECTOR_DIR, doc2.file);
const simDoc = join(work, 'sim.cbor');
const simRoot = join(work, 'sim-root.pem');

beforeAll(async () => {
  ensureBuilt();
  const state = join(work, 'state');
  expect((await enclavekit(['sim', 'init', '--state', state])).status).toBe(0);
  expect((await enclavekit(['sim', 'attest', '--state', state, '--instance-id', 'i-0123456789abcdef0', '--out', simDoc])).status).toBe(0);
  const root = await enclavekit(['sim', 'root', '--state', state]);
  expect(root.status).toBe(0);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(simRoot, root.stdout);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.concurrent('attest verify messages', () => {
  it('a PCR mismatch prints expected and actual of each differing PCR, and only those', async () => {
    const pcr0 = doc2.nonzero_pcrs['0']!;
    const wrong = 'ab'.repeat(48);
    const run = await enclavekit(['attest', 'verify', doc2File, '--at', 'document', '--pcr', `0=${pcr0}`, '--pcr', `1=${wrong}`]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`ERR_PCR_MISMATCH: PCR1 differs from the expected value\n  PCR1\n    expected ${wrong}\n    actual   ${doc2.nonzero_pcrs['1']}\n`);
  });

  it('--max-age-ms: a document older than the bound at --at is stale; within it, valid', async () => {
    const at = String(doc2.timestamp_ms + 60_000);
    const stale = await enclavekit(['attest', 'verify', doc2File, '--any-pcrs', '--at', at, '--max-age-ms', '59999']);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/^ERR_ATTESTATION_STALE: /);
    const fresh = await enclavekit(['attest', 'verify', doc2File, '--any-pcrs', '--at', at, '--max-age-ms', '60000']);
    expect(fresh.status).toBe(0);
    const bad = await enclavekit(['attest', 'verify', doc2File, '--any-pcrs', '--max-age-ms', '-5']);
    expect(bad.status).toBe(2);
  });

  it('a simulator document under the default root fails the chain and suggests --root; with --root it verifies', async () => {
    const run = await enclavekit(['attest', 'verify', simDoc, '--any-pcrs']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ERR_ATTESTATION_CHAIN: .*\nhint: .*simulated root.*--root/);
    const ok = await enclavekit(['attest', 'verify', simDoc, '--any-pcrs', '--root', simRoot]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^valid\n/);
  });

  it('a real document under a wrong --root gets no simulator hint', async () => {
    const run = await enclavekit(['attest', 'verify', doc2File, '--any-pcrs', '--at', 'document', '--root', simRoot]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ERR_ATTESTATION_CHAIN: [^\n]*\n$/);
    expect(readFileSync(simRoot, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
