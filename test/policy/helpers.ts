import { evaluateKeyPolicy, parseKeyPolicy, type ConditionValue, type PolicyDecision } from '../../sim/kms/policy/index.js';

export const ACCOUNT = '111122223333';
export const KEY_ARN = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
export const ENCLAVE_ROLE = `arn:aws:iam::${ACCOUNT}:role/enclave`;

/** Evaluates a one-statement Allow policy with the given Condition block. */
export function evaluateCondition(
  condition: Record<string, unknown>,
  values: Record<string, ConditionValue>,
): PolicyDecision {
  const policy = parseKeyPolicy({
    Version: '2012-10-17',
    Statement: { Sid: 'Under test', Effect: 'Allow', Principal: { AWS: ENCLAVE_ROLE }, Action: 'kms:Decrypt', Resource: '*', Condition: condition },
  });
  return evaluateKeyPolicy(policy, { principalArn: ENCLAVE_ROLE, action: 'kms:Decrypt', resource: KEY_ARN, values });
}
