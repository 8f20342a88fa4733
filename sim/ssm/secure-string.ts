/**
 * SecureString values: encrypted under a KMS simulator key with the encryption context
 * {"PARAMETER_ARN": <parameter ARN>} ("How AWS Systems Manager Parameter Store uses AWS KMS", AWS KMS
 * Developer Guide). The caller needs the KMS permission itself, through SSM (`kms:ViaService`
 * ssm.<region>.amazonaws.com): kms:Encrypt for a standard parameter and kms:GenerateDataKey for an
 * advanced one (SSM encrypts advanced values with an envelope data key), kms:Decrypt to read it
 * WithDecryption.
 */
import { join } from 'node:path';
import type { ServiceCaller } from '../json-service/caller.js';
import { openUnderKmsKey, sealUnderKmsKey, type KmsKeyAccess } from '../json-service/kms-key.js';
import type { Tier } from './store.js';

/** KeyId SSM uses when a SecureString names none: the AWS managed key. */
export const AWS_MANAGED_SSM_KEY = 'alias/aws/ssm';

export function ssmKmsAccess(stateDir: string, region: string, caller: ServiceCaller): KmsKeyAccess {
  return { kmsDir: join(stateDir, 'kms'), region, caller, viaService: `ssm.${region}.amazonaws.com`, notFoundType: 'InvalidKeyId' };
}

export function parameterContext(arn: string): Record<string, string> {
  return { PARAMETER_ARN: arn };
}

export async function encryptParameter(access: KmsKeyAccess, keyId: string, arn: string, value: string, tier: Tier): Promise<{ blob: string; keyArn: string }> {
  const sealed = await sealUnderKmsKey(access, keyId, parameterContext(arn), Buffer.from(value, 'utf8'), tier === 'Advanced' ? 'kms:GenerateDataKey' : 'kms:Encrypt');
  return { blob: sealed.blob.toString('base64'), keyArn: sealed.keyArn };
}

export async function decryptParameter(access: KmsKeyAccess, arn: string, blob: string): Promise<string> {
  const plaintext = await openUnderKmsKey(access, Buffer.from(blob, 'base64'), parameterContext(arn));
  try {
    return plaintext.toString('utf8');
  } finally {
    plaintext.fill(0);
  }
}
