/**
 * Every KMS action name a key policy can grant, as IAM spells them: the KMS API operations
 * (the botocore / @aws-sdk/client-kms model), with ReEncrypt split into its two permissions
 * kms:ReEncryptFrom and kms:ReEncryptTo ("AWS KMS permissions reference"). test/policy/actions.test.ts
 * keeps this list in step with the installed SDK's commands.
 */
export const KMS_ACTIONS = Object.freeze([
  'kms:CancelKeyDeletion', 'kms:ConnectCustomKeyStore', 'kms:CreateAlias', 'kms:CreateCustomKeyStore',
  'kms:CreateGrant', 'kms:CreateKey', 'kms:Decapsulate', 'kms:Decrypt', 'kms:DeleteAlias',
  'kms:DeleteCustomKeyStore', 'kms:DeleteImportedKeyMaterial', 'kms:DeriveSharedSecret',
  'kms:DescribeCustomKeyStores', 'kms:DescribeKey', 'kms:DisableKey', 'kms:DisableKeyRotation',
  'kms:DisconnectCustomKeyStore', 'kms:EnableKey', 'kms:EnableKeyRotation', 'kms:Encapsulate', 'kms:Encrypt',
  'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateMac', 'kms:GenerateRandom', 'kms:GetKeyLastUsage',
  'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:GetParametersForImport', 'kms:GetPublicKey',
  'kms:ImportKeyMaterial', 'kms:ListAliases', 'kms:ListGrants', 'kms:ListKeyPolicies', 'kms:ListKeyRotations',
  'kms:ListKeys', 'kms:ListResourceTags', 'kms:ListRetirableGrants', 'kms:PutKeyPolicy', 'kms:ReEncryptFrom',
  'kms:ReEncryptTo', 'kms:ReplicateKey', 'kms:RetireGrant', 'kms:RevokeGrant', 'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion', 'kms:Sign', 'kms:TagResource', 'kms:UntagResource', 'kms:UpdateAlias',
  'kms:UpdateCustomKeyStore', 'kms:UpdateKeyDescription', 'kms:UpdatePrimaryRegion', 'kms:Verify',
  'kms:VerifyMac',
] as const);

export type KmsAction = (typeof KMS_ACTIONS)[number];
