/**
 * `policy explain` with identity policies (sim/kms/policy/explain.ts): the verdict is KMS's combined
 * decision, so a default-style key policy (account root) is denied to a role without IAM permission
 * and allowed once its IAM policy allows; an IAM Deny wins; without identity policies the key policy
 * alone decides, as before.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { initSimState, simRootPemPath } from '../../sim/state.js';
import { simulatedNsm } from './harness.js';
import { explainKeyPolicy, parseIdentityPolicy, parseKeyPolicy, type ExplainDocument } from '../../sim/kms/policy/index.js';
import { ENCLAVE_ROLE_DENY_UNATTESTED } from '../../sim/iam/default-policies.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;
const PCR0 = 'a1'.repeat(48);
const rootPolicy = parseKeyPolicy({ Version: '2012-10-17', Statement: [{ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
const verified: ExplainDocument = { verified: true, moduleId: 'i-0123456789abcdef0-enc0', timestamp: 1_700_000_000_000, pcrs: { 0: PCR0, 1: PCR0, 2: PCR0 } };
const request = { principalArn: ROLE, action: 'kms:Decrypt', resource: KEY };
const allowDecrypt = parseIdentityPolicy({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' } });

describe('policy explain with identity policies', () => {
  it('denies a role without IAM permission on an account-root key policy, allows it once IAM allows', () => {
    const none = explainKeyPolicy(rootPolicy, { ...request, identityPolicies: [] }, verified);
    expect(none.allowed).toBe(false);
    expect(none.lines.at(-1)).toBe('verdict: DENY (the key policy delegates to the account, but no identity policy allows kms:Decrypt)');
    const allowed = explainKeyPolicy(rootPolicy, { ...request, identityPolicies: [allowDecrypt] }, verified);
    expect(allowed.allowed).toBe(true);
    expect(allowed.lines.at(-1)).toBe('verdict: ALLOW (the key policy admits the account; an identity policy allows kms:Decrypt)');
  });

  it('applies the enclave role deny-unattested policy: a verified document passes it, an explicit IAM Deny wins', () => {
    const deployed = parseIdentityPolicy(ENCLAVE_ROLE_DENY_UNATTESTED);
    expect(explainKeyPolicy(rootPolicy, { ...request, identityPolicies: [deployed, allowDecrypt] }, verified).allowed).toBe(true);
    const encrypt = explainKeyPolicy(rootPolicy, { ...request, action: 'kms:Encrypt', identityPolicies: [deployed, allowDecrypt] }, verified);
    expect(encrypt.allowed).toBe(false);
    expect(encrypt.lines.at(-1)).toBe('verdict: DENY (explicit deny in an identity policy, statement DenyEveryOtherAction)');
  });

  it('without identity policies, the key policy alone decides (unchanged)', () => {
    const r = explainKeyPolicy(rootPolicy, request, verified);
    expect(r.allowed).toBe(true);
    expect(r.lines.some((l) => l.startsWith('identity policies:'))).toBe(false);
  });

  it('refuses an identity policy that names a Principal', () => {
    expect(() => parseIdentityPolicy({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } })).toThrow(/malformed identity policy/);
  });
});

describe('enclavekit policy explain --identity-policy', () => {
  async function cli(argv: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await main(argv), stdout };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('exits 1 for a role without IAM permission on an account-root policy, 0 once its IAM policy allows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ek-explain-iam-'));
    try {
      await initSimState(join(dir, 'state'), { now: Date.now() - 86_400_000 });
      const nsm = await simulatedNsm(join(dir, 'state'), { 0: PCR0, 1: PCR0, 2: PCR0 });
      await writeFile(join(dir, 'doc.cbor'), await nsm.attest({}));
      await writeFile(join(dir, 'root.pem'), await readFile(simRootPemPath(join(dir, 'state'))));
      await writeFile(join(dir, 'policy.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] }));
      await writeFile(join(dir, 'none.json'), JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' } }));
      await writeFile(join(dir, 'decrypt.json'), JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' } }));
      const base = ['policy', 'explain', '--policy', join(dir, 'policy.json'), '--document', join(dir, 'doc.cbor'), '--root', join(dir, 'root.pem'), '--principal', ROLE, '--key', KEY];
      const denied = await cli([...base, '--identity-policy', join(dir, 'none.json')]);
      expect(denied.code).toBe(1);
      expect(denied.stdout).toContain('no identity policy allows kms:Decrypt');
      const allowed = await cli([...base, '--identity-policy', join(dir, 'none.json'), '--identity-policy', join(dir, 'decrypt.json')]);
      expect(allowed.code).toBe(0);
      expect(allowed.stdout).toContain('identity policies:');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
