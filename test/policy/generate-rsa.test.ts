import { describe, expect, it } from 'vitest';
import { InputError } from '../../shared/errors.js';
import { generateKeyPolicy, SID_PUBLIC_KEY_READERS, type GenerateKeyPolicyOptions } from '../../shared/policy/generate.js';
import { attestationConditionValues, callerConditionValues, evaluateKeyPolicy, KMS_ACTIONS, parseKeyPolicy, type ConditionValue } from '../../sim/kms/policy/index.js';
import { ACCOUNT, ENCLAVE_ROLE, KEY_ARN } from './helpers.js';

const hex = (c: string) => c.repeat(96);
const PCRS = { 0: hex('a'), 1: hex('b'), 2: hex('c') };
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/admin`;
const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/offline-producer`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/enclave/i-0123456789abcdef0`;

const rsa: GenerateKeyPolicyOptions = { kind: 'rsa', account: ACCOUNT, enclaveRoleArn: ENCLAVE_ROLE, adminArns: [ADMIN], producerArns: [PRODUCER], pcrs: PCRS };
const policy = parseKeyPolicy(JSON.stringify(generateKeyPolicy(rsa).policy));
const attested = attestationConditionValues(PCRS);

function allowedActions(principal: string, values: Record<string, ConditionValue>): string[] {
  return KMS_ACTIONS.filter(
    (action) => evaluateKeyPolicy(policy, { principalArn: principal, action, resource: KEY_ARN, values: { ...callerConditionValues(principal), ...values } }).allowed,
  );
}

function refusal(options: Partial<GenerateKeyPolicyOptions>): string {
  try {
    generateKeyPolicy({ ...rsa, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).message;
  }
  throw new Error('expected a refusal');
}

describe('generateKeyPolicy: the RSA key of offline producers', () => {
  it('producers may read the public key and nothing else, even holding an attestation document', () => {
    expect(allowedActions(PRODUCER, {})).toEqual(['kms:GetPublicKey']);
    expect(allowedActions(PRODUCER, attested)).toEqual(['kms:GetPublicKey']);
    expect(generateKeyPolicy(rsa).policy.Statement.find((s) => s.Sid === SID_PUBLIC_KEY_READERS)?.Condition).toBeUndefined();
  });

  it('the enclave role may Decrypt only with attestation, and never GetPublicKey (the parent holds its credentials)', () => {
    expect(allowedActions(SESSION, attested)).toEqual(['kms:Decrypt']);
    expect(allowedActions(ENCLAVE_ROLE, {})).toEqual([]);
    expect(allowedActions(SESSION, attestationConditionValues({ ...PCRS, 0: hex('d') }))).toEqual([]);
  });

  it('administrators manage the key but cannot read the public key or decrypt', () => {
    const actions = allowedActions(ADMIN, attested);
    expect(actions).toContain('kms:DescribeKey');
    for (const use of ['kms:GetPublicKey', 'kms:Decrypt', 'kms:Encrypt', 'kms:CreateGrant', 'kms:ReEncryptFrom']) expect(actions).not.toContain(use);
  });

  it('has its own policy id and no producer statement without producers', () => {
    expect(generateKeyPolicy(rsa).policy.Id).toBe('enclavekit-rsa-key-policy');
    const bare = generateKeyPolicy({ ...rsa, producerArns: [] }).policy;
    expect(bare.Statement.map((s) => s.Sid)).not.toContain(SID_PUBLIC_KEY_READERS);
  });

  it('refuses an encryption context, wrapped-key generators and producers that would include the enclave role', () => {
    expect(refusal({ encryptionContext: { purpose: ['card'] } })).toMatch(/takes no encryption context/);
    expect(refusal({ wrappedKeyGeneratorArns: [`arn:aws:iam::${ACCOUNT}:role/keygen`] })).toMatch(/belong on the internal key/);
    expect(refusal({ producerArns: [`arn:aws:iam::${ACCOUNT}:root`] })).toMatch(/would include the enclave role/);
    expect(refusal({ producerArns: [SESSION] })).toMatch(/would include the enclave role/);
  });
});
