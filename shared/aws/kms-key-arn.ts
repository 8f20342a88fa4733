/**
 * KMS key ARNs: arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID (AWS General Reference, "Amazon
 * Resource Names (ARNs)"; AWS KMS Developer Guide, "Key identifiers"). One pattern for the enclave
 * config and the CLI, and the parts the enclave pins its secret stores to.
 */

/** A key ARN (not an alias) in any partition: aws, aws-cn, aws-us-gov, ... */
export const KMS_KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/[0-9a-f-]{36}$/;

export interface KmsKeyArnParts {
  partition: string;
  region: string;
  account: string;
}

/** The partition, Region and account of a key ARN; undefined when it is not one. */
export function parseKmsKeyArn(arn: string): KmsKeyArnParts | undefined {
  const match = KMS_KEY_ARN.exec(arn);
  if (match === null) return undefined;
  return { partition: match[1]!, region: match[2]!, account: match[3]! };
}
