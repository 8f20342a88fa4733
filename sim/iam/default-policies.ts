/**
 * The IAM identity policies `sim init` attaches to the simulated roles, so that key policies that
 * delegate to the account (the default key policy's root statement) behave as in AWS: a role gets
 * only what its IAM policies allow.
 *
 * - role/admin: an account administrator for KMS (`kms:*` on every key), Parameter Store (`ssm:*`)
 *   and Secrets Manager (`secretsmanager:*`).
 * - role/enclave: the parent instance's role, whose credentials the parent holds. It carries the
 *   policy of deploy/iam/parent-instance-role-policy.json (a test keeps the two equal: KMS only
 *   with an attestation, reads of parameters and secrets under enclavekit/, nothing else), plus an
 *   Allow for kms:GenerateRandom, which has no key policy to allow it.
 * - role/client: a producer: it encrypts and makes data keys, and may describe keys and draw random
 *   bytes; it cannot decrypt through IAM.
 */
import type { SimRoleName } from '../state.js';
import { READABLE_SECRET_PREFIX } from '../../shared/secrets/sealed-secret.js';

export type PolicyDocument = Readonly<Record<string, unknown>>;

/** Copy of deploy/iam/parent-instance-role-policy.json. */
const STORE_READS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
const ENCLAVEKIT_STORES = [`arn:aws:ssm:*:*:parameter${READABLE_SECRET_PREFIX.ssm}*`, `arn:aws:secretsmanager:*:*:secret:${READABLE_SECRET_PREFIX.secretsmanager}*`];
export const ENCLAVE_ROLE_DENY_UNATTESTED: PolicyDocument = Object.freeze({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyKmsUseWithoutAnEnclaveAttestation',
      Effect: 'Deny',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateRandom'],
      Resource: '*',
      Condition: { Null: { 'kms:RecipientAttestation:ImageSha384': 'true' } },
    },
    { Sid: 'ReadEnclaveKitParametersAndSecrets', Effect: 'Allow', Action: STORE_READS, Resource: ENCLAVEKIT_STORES },
    { Sid: 'DenyParameterAndSecretReadsOutsideEnclaveKit', Effect: 'Deny', Action: STORE_READS, NotResource: ENCLAVEKIT_STORES },
    {
      Sid: 'DenyEveryOtherAction',
      Effect: 'Deny',
      NotAction: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateRandom', ...STORE_READS, 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 's3:GetObject'],
      Resource: '*',
    },
  ],
});

const allow = (sid: string, actions: readonly string[]): PolicyDocument =>
  Object.freeze({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Action: [...actions], Resource: '*' }] });

export const DEFAULT_IDENTITY_POLICIES: Readonly<Record<SimRoleName, readonly PolicyDocument[]>> = Object.freeze({
  admin: [allow('KmsAdministrator', ['kms:*']), allow('ParameterAndSecretAdministrator', ['ssm:*', 'secretsmanager:*'])],
  enclave: [ENCLAVE_ROLE_DENY_UNATTESTED, allow('AttestedRandom', ['kms:GenerateRandom'])],
  client: [allow('Producer', ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey', 'kms:GenerateRandom'])],
});
