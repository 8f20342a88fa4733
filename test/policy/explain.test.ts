import { describe, expect, it } from 'vitest';
import { generateKeyPolicy } from '../../shared/policy/generate.js';
import { attestedPrincipals, explainKeyPolicy, parseKeyPolicy, type ExplainDocument } from '../../sim/kms/policy/index.js';
import { ACCOUNT, ENCLAVE_ROLE, KEY_ARN } from './helpers.js';

const hex = (c: string) => c.repeat(96);
const PCRS = { 0: hex('a'), 1: hex('b'), 2: hex('c') };
const policy = parseKeyPolicy(
  generateKeyPolicy({ account: ACCOUNT, enclaveRoleArn: ENCLAVE_ROLE, adminArns: [`arn:aws:iam::${ACCOUNT}:role/admin`], pcrs: PCRS }).policy,
);
const request = { principalArn: ENCLAVE_ROLE, action: 'kms:Decrypt', resource: KEY_ARN };
const verified = (pcrs: Record<number, string>): ExplainDocument => ({ verified: true, moduleId: 'i-0123456789abcdef0-enc0123456789abcd', timestamp: Date.UTC(2026, 0, 1), pcrs });

describe('explainKeyPolicy', () => {
  it('allows the matching enclave and names the statement', () => {
    const r = explainKeyPolicy(policy, request, verified({ ...PCRS, 3: hex('3') }));
    expect(r.allowed).toBe(true);
    expect(r.lines.at(-1)).toBe('verdict: ALLOW (statement EnclaveKitAttestedEnclave)');
    expect(r.lines).toContain('document: verified (module i-0123456789abcdef0-enc0123456789abcd, timestamp 2026-01-01T00:00:00.000Z)');
  });

  it('denies a changed PCR, printing the policy value and the document value side by side', () => {
    const r = explainKeyPolicy(policy, request, verified({ ...PCRS, 1: hex('9') }));
    expect(r.allowed).toBe(false);
    const at = r.lines.indexOf('    ✗ StringEqualsIgnoreCase kms:RecipientAttestation:PCR1');
    expect(at).toBeGreaterThan(0);
    expect(r.lines[at + 1]).toBe(`        policy:    ${hex('b')}`);
    expect(r.lines[at + 2]).toBe(`        document:  ${hex('9')}`);
    expect(r.lines.at(-1)).toBe('verdict: DENY (no statement allows kms:Decrypt; failed: PCR1)');
  });

  it('names an absent PCR as absent and a request key as a request value', () => {
    const r = explainKeyPolicy(policy, { ...request, principalArn: 'arn:aws:sts::111122223333:assumed-role/enclave/s' }, verified({ 0: hex('a'), 1: hex('b') }));
    expect(r.lines).toContain('        document:  (absent)');
    const other = explainKeyPolicy(policy, { ...request, principalArn: 'arn:aws:sts::444455556666:assumed-role/enclave/s' }, verified(PCRS));
    expect(other.lines.join('\n')).toMatch(/principal does not match/);
  });

  it('never allows a document that does not verify, even under a policy without attestation conditions', () => {
    const open = parseKeyPolicy({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } });
    const bad: ExplainDocument = { verified: false, error: { code: 'ERR_ATTESTATION_CHAIN', message: 'no trusted root' }, pcrs: PCRS };
    const r = explainKeyPolicy(open, request, bad);
    expect(r.allowed).toBe(false);
    expect(r.lines).toContain('document: NOT VERIFIED (ERR_ATTESTATION_CHAIN: no trusted root)');
    expect(r.lines.at(-1)).toMatch(/^verdict: DENY \(the attestation document does not verify; the policy alone would allow/);
    const bound = explainKeyPolicy(policy, request, bad);
    expect(bound.allowed).toBe(false);
    expect(bound.decision.allowed).toBe(false);
    expect(bound.lines.join('\n')).toMatch(/diagnosis only, with the document's unverified PCRs the policy would allow/);
  });

  it('warns about debug-mode documents and policy warnings', () => {
    const zero = '0'.repeat(96);
    const p = parseKeyPolicy({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'kms:RecipientAttestation:PCR0': 'A'.repeat(96) } } } });
    const r = explainKeyPolicy(p, request, verified({ 0: zero, 1: zero, 2: zero }));
    expect(r.allowed).toBe(false);
    expect(r.lines[0]).toMatch(/^warning: .*upper-case hex/);
    expect(r.lines.join('\n')).toMatch(/debug-mode enclave/);
  });

  it('finds the attested principal of a generated policy', () => {
    expect(attestedPrincipals(policy)).toEqual([ENCLAVE_ROLE]);
  });
});
