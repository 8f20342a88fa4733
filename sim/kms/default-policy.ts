/**
 * The key policy KMS gives a key created without one: the account (root) may do everything,
 * which in AWS delegates to IAM policies ("Default key policy",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html). The simulator
 * has no IAM policies, so every principal of the account may use such a key.
 */
export function defaultKeyPolicy(account: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}
