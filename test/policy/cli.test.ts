// End to end: `policy generate` output, evaluated by `policy explain`
// against simulated documents from `sim attest`, allows exactly the matching enclave and denies one
// with a changed PCR, naming the PCR. Runs the CLI in-process (cli/main.ts) with captured output.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { parseAttestation } from '../../shared/attestation/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/admin`;
const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/client`;

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let dir: string;
const path = (name: string) => join(dir, name);
let pcrs: Record<number, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enclavekit-policy-'));
  expect((await cli('sim', 'init', '--state', path('state'))).code).toBe(0);
  expect((await cli('sim', 'root', '--state', path('state'))).code).toBe(0);
  await writeFile(path('root.pem'), (await cli('sim', 'root', '--state', path('state'))).stdout);
  const bundle = new TextEncoder().encode('export const app = "cards";\n');
  await writeFile(path('app.js'), bundle);
  await writeFile(path('other.js'), 'export const app = "evil";\n');
  // What `nitro-cli build-enclave` prints for this image (the simulator measures the same way).
  pcrs = measureEnclave({ appBundle: bundle });
  await writeFile(path('pcrs.json'), JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: pcrs[0], PCR1: pcrs[1], PCR2: pcrs[2] } }));

  const attest = async (out: string, ...extra: string[]) =>
    expect((await cli('sim', 'attest', '--state', path('state'), '--role-arn', ROLE, '--out', path(out), ...extra)).code).toBe(0);
  await attest('good.cbor', '--bundle', path('app.js'));
  await attest('other-app.cbor', '--bundle', path('other.js'));
  await attest('pcr1-changed.cbor', '--bundle', path('app.js'), '--pcr', `1=${'ab'.repeat(48)}`);
  await attest('debug.cbor', '--bundle', path('app.js'), '--debug');

  const generated = await cli(
    'policy', 'generate', '--pcrs', path('pcrs.json'), '--pcr', `3=${ROLE}`, '--account', ACCOUNT, '--enclave-role', ROLE,
    '--admin', ADMIN, '--producer', PRODUCER, '--encryption-context', 'purpose=cards', '--out', path('policy.json'),
  );
  expect(generated.code).toBe(0);
  expect(generated.stderr).toContain('wrote');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const explain = (document: string, ...extra: string[]) =>
  cli('policy', 'explain', '--policy', path('policy.json'), '--document', path(document), '--root', path('root.pem'), '--at', 'document', ...extra);

describe('policy generate → policy explain against simulated documents', () => {
  it('allows the matching enclave (exit 0)', async () => {
    const r = await explain('good.cbor');
    expect(r.stdout).toMatch(/^document: verified /m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('verdict: ALLOW (statement EnclaveKitAttestedEnclave)');
    expect(r.code).toBe(0);
  });

  it('denies an enclave running other code, naming PCR0 and PCR2 with both values (exit 1)', async () => {
    const r = await explain('other-app.cbor');
    expect(r.code).toBe(1);
    const other = parseAttestation(new Uint8Array(await readFile(path('other-app.cbor'))));
    const pcr2 = Buffer.from(other.pcrs.get(2)!).toString('hex');
    expect(r.stdout).toContain('✗ StringEqualsIgnoreCase kms:RecipientAttestation:PCR2');
    expect(r.stdout).toContain(`policy:    ${pcrs[2]}`);
    expect(r.stdout).toContain(`document:  ${pcr2}`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('verdict: DENY (no statement allows kms:Decrypt; failed: PCR0, PCR2)');
  });

  it('denies a document with one changed PCR, naming exactly that PCR', async () => {
    const r = await explain('pcr1-changed.cbor');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`document:  ${'ab'.repeat(48)}`);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('verdict: DENY (no statement allows kms:Decrypt; failed: PCR1)');
  });

  it('denies a debug-mode document', async () => {
    const r = await explain('debug.cbor');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/debug-mode enclave/);
  });

  it('denies the matching document when it does not chain to the given root (AWS root by default)', async () => {
    const r = await cli('policy', 'explain', '--policy', path('policy.json'), '--document', path('good.cbor'), '--at', 'document');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^document: NOT VERIFIED \(ERR_ATTESTATION_CHAIN: /m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('verdict: DENY (the attestation document does not verify)');
  });

  it('denies a stale document at a later time, with a hint', async () => {
    const doc = parseAttestation(new Uint8Array(await readFile(path('good.cbor'))));
    const r = await explain('good.cbor', '--at', String(doc.timestamp + 10 * 60_000));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT VERIFIED \(ERR_ATTESTATION_STALE/);
    expect(r.stdout).toContain('hint: --at document');
  });

  it('reads base64 documents, and denies other principals and actions', async () => {
    await writeFile(path('good.b64'), Buffer.from(await readFile(path('good.cbor'))).toString('base64'));
    expect((await explain('good.b64')).code).toBe(0);
    // The enclave only decrypts; GenerateRandom is an account-level action, not granted by a key policy.
    expect((await explain('good.b64', '--action', 'kms:GenerateRandom')).code).toBe(1);
    expect((await explain('good.b64', '--action', 'kms:Encrypt')).code).toBe(1);
    const admin = await explain('good.b64', '--principal', ADMIN);
    expect(admin.code).toBe(1);
    expect(admin.stdout).toContain('EnclaveKitAttestedEnclave (Allow): principal does not match');
  });

  it('the generated policy file is what generate printed, and refuses debug PCRs with exit 1', async () => {
    const policy = JSON.parse(await readFile(path('policy.json'), 'utf8')) as { Statement: { Sid: string; Condition?: Record<string, Record<string, string>> }[] };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['EnclaveKitKeyAdministration', 'EnclaveKitProducersEncrypt', 'EnclaveKitAttestedEnclave']);
    expect(policy.Statement[2]!.Condition!['StringEqualsIgnoreCase']!['kms:RecipientAttestation:PCR3']).toMatch(/^[0-9a-f]{96}$/);
    const zero = '0'.repeat(96);
    await writeFile(path('debug-pcrs.json'), JSON.stringify({ PCR0: zero, PCR1: zero, PCR2: zero }));
    const r = await cli('policy', 'generate', '--pcrs', path('debug-pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_BAD_REQUEST: PCR0 is all zeros: these are debug-mode measurements/);
    expect(r.stdout).toBe('');
  });

  it('generate warns about PCR4 on stderr and prints the policy on stdout', async () => {
    const r = await cli('policy', 'generate', '--pcrs', path('pcrs.json'), '--pcr', '4=i-0123456789abcdef0', '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: PCR4 is the parent instance id/);
    expect(JSON.parse(r.stdout).Statement).toHaveLength(2);
  });

  it('--producer without purposes is refused; --key internal writes the internal key policy', async () => {
    const noPurpose = await cli('policy', 'generate', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--producer', PRODUCER);
    expect(noPurpose.code).toBe(1);
    expect(noPurpose.stderr).toMatch(/ERR_BAD_REQUEST: producers need the purposes/);
    const keygen = `arn:aws:iam::${ACCOUNT}:role/keygen`;
    const internal = await cli('policy', 'generate', '--key', 'internal', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--wrapped-key-generator', keygen);
    expect(internal.code).toBe(0);
    const doc = JSON.parse(internal.stdout) as { Statement: { Sid: string; Action: string[]; Condition?: Record<string, Record<string, unknown>> }[] };
    expect(doc.Statement.map((st) => st.Sid)).toEqual(['EnclaveKitKeyAdministration', 'EnclaveKitWrappedKeyGeneration', 'EnclaveKitAttestedEnclave']);
    expect(doc.Statement[1]!.Condition!['StringEquals']).toEqual({ 'kms:EncryptionContext:purpose': ['tokenization-key', 'blind-index-key'] });
    const producerOnInternal = await cli('policy', 'generate', '--key', 'internal', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--producer', PRODUCER, '--encryption-context', 'purpose=card');
    expect(producerOnInternal.code).toBe(1);
    expect((await cli('policy', 'generate', '--key', 'other', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN)).code).toBe(2);
  });

  it('--secret-writer (repeatable) adds Encrypt with purpose=secret on the internal key and is refused on the card key', async () => {
    const writers = [`arn:aws:iam::${ACCOUNT}:role/deployer`, `arn:aws:iam::${ACCOUNT}:role/ci`];
    const internal = await cli('policy', 'generate', '--key', 'internal', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--secret-writer', writers[0]!, '--secret-writer', writers[1]!);
    expect(internal.code).toBe(0);
    const doc = JSON.parse(internal.stdout) as { Statement: { Sid: string; Principal: unknown; Action: string[]; Condition?: unknown }[] };
    expect(doc.Statement.find((st) => st.Sid === 'EnclaveKitSecretWriters')).toEqual({
      Sid: 'EnclaveKitSecretWriters',
      Effect: 'Allow',
      Principal: { AWS: writers },
      Action: ['kms:Encrypt'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'secret' } },
    });
    const onCard = await cli('policy', 'generate', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--secret-writer', writers[0]!);
    expect(onCard.code).toBe(1);
    expect(onCard.stderr).toMatch(/ERR_BAD_REQUEST: secret writers belong on the internal key/);
    const enclaveRole = await cli('policy', 'generate', '--key', 'internal', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--secret-writer', ROLE);
    expect(enclaveRole.code).toBe(1);
    expect(enclaveRole.stderr).toMatch(/would include the enclave role/);
  });

  it('--key rsa writes the RSA key policy: producers only GetPublicKey, the attested enclave only Decrypt', async () => {
    const rsa = await cli('policy', 'generate', '--key', 'rsa', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--producer', PRODUCER);
    expect(rsa.code).toBe(0);
    const doc = JSON.parse(rsa.stdout) as { Statement: { Sid: string; Action: string[] }[] };
    expect(doc.Statement.map((st) => [st.Sid, st.Sid === 'EnclaveKitKeyAdministration' ? [] : st.Action])).toEqual([
      ['EnclaveKitKeyAdministration', []],
      ['EnclaveKitProducersGetPublicKey', ['kms:GetPublicKey']],
      ['EnclaveKitAttestedEnclave', ['kms:Decrypt']],
    ]);
    const withContext = await cli('policy', 'generate', '--key', 'rsa', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--producer', PRODUCER, '--encryption-context', 'purpose=card');
    expect(withContext.code).toBe(1);
    expect(withContext.stderr).toMatch(/takes no encryption context/);
  });

  it('usage errors exit 2; a malformed policy exits 1 with ERR_POLICY_MALFORMED', async () => {
    expect((await cli('policy')).code).toBe(2);
    expect((await cli('policy', 'nope')).code).toBe(2);
    expect((await cli('policy', 'generate', '--account', ACCOUNT)).code).toBe(2);
    expect((await cli('policy', 'explain', '--policy', path('policy.json'))).code).toBe(2);
    expect((await cli('policy', 'generate', '--pcrs', path('pcrs.json'), '--account', ACCOUNT, '--enclave-role', ROLE, '--admin', ADMIN, '--bogus')).code).toBe(2);
    await writeFile(path('bad-policy.json'), JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*' }] }));
    const r = await cli('policy', 'explain', '--policy', path('bad-policy.json'), '--document', path('good.cbor'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_POLICY_MALFORMED: malformed key policy: Statement\[0\] has neither Resource nor NotResource/);
  });
});
