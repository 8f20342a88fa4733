/**
 * Seals a secret and stores it (docs/secrets.md "Sealed secrets in the enclave"): KMS Encrypt
 * under the enclave's internal key with the context {purpose: secret, store, name}, then the
 * base64 CiphertextBlob goes to Parameter Store (PutParameter, Type String, Overwrite; the
 * Advanced tier when the value is over the Standard tier's 4096 characters) or Secrets Manager
 * (CreateSecret, or PutSecretValue when it exists). The plaintext never goes to the store.
 * `enclavekit secrets put` and the dev stack's demo secret both use this.
 */
import { EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { mapKmsError } from '../../enclave/kms/kms-errors.js';
import { awsErrorName } from '../../shared/aws/error-name.js';
import { EnclaveKitError, InputError, ServiceError } from '../../shared/errors.js';
import { MAX_SECRET_BYTES, SSM_STANDARD_VALUE_MAX, secretEncryptionContext, type SecretStoreName } from '../../shared/secrets/sealed-secret.js';

export interface PutSealedSecretInput {
  kms: KMSClient;
  /** The store's client: SSMClient for `ssm`, SecretsManagerClient for `secretsmanager`. */
  store: { name: 'ssm'; client: SSMClient } | { name: 'secretsmanager'; client: SecretsManagerClient };
  secretName: string;
  keyArn: string;
  plaintext: Uint8Array;
}

/** The stored version: the SSM version number or the Secrets Manager VersionId. */
export async function putSealedSecret(input: PutSealedSecretInput): Promise<{ store: SecretStoreName; name: string; version: string }> {
  if (input.plaintext.length === 0 || input.plaintext.length > MAX_SECRET_BYTES) {
    throw new InputError('ERR_BAD_REQUEST', `plaintext: a sealed secret is 1..${MAX_SECRET_BYTES} bytes (KMS Encrypt's plaintext limit)`);
  }
  let blob: Uint8Array;
  try {
    const out = await input.kms.send(
      new EncryptCommand({ KeyId: input.keyArn, Plaintext: input.plaintext, EncryptionContext: secretEncryptionContext(input.store.name, input.secretName) }),
    );
    if (out.CiphertextBlob === undefined) throw new ServiceError('ERR_KMS_REJECTED', 'KMS Encrypt answered without CiphertextBlob');
    blob = out.CiphertextBlob;
  } catch (error) {
    throw mapKmsError(error, 'Encrypt');
  }
  const value = Buffer.from(blob).toString('base64');
  try {
    if (input.store.name === 'ssm') {
      const out = await input.store.client.send(
        new PutParameterCommand({
          Name: input.secretName,
          Value: value,
          Type: 'String',
          Overwrite: true,
          // Left out otherwise: SSM keeps the parameter's tier, and an Advanced one cannot go back.
          ...(value.length > SSM_STANDARD_VALUE_MAX ? { Tier: 'Advanced' as const } : {}),
        }),
      );
      if (out.Version === undefined) throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'PutParameter answered without Version');
      return { store: 'ssm', name: input.secretName, version: String(out.Version) };
    }
    const client = input.store.client;
    try {
      const out = await client.send(new CreateSecretCommand({ Name: input.secretName, SecretString: value }));
      return { store: 'secretsmanager', name: input.secretName, version: versionIdOf(out.VersionId, 'CreateSecret') };
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceExistsException') throw error;
      const out = await client.send(new PutSecretValueCommand({ SecretId: input.secretName, SecretString: value }));
      return { store: 'secretsmanager', name: input.secretName, version: versionIdOf(out.VersionId, 'PutSecretValue') };
    }
  } catch (error) {
    if (error instanceof EnclaveKitError) throw error;
    throw new ServiceError('ERR_SECRET_UNAVAILABLE', `${input.store.name === 'ssm' ? 'PutParameter' : 'CreateSecret/PutSecretValue'} failed: ${awsErrorName(error)}`, { cause: error });
  }
}

/** A stored version the caller can wait for: refuse an answer without one rather than print "undefined". */
function versionIdOf(versionId: string | undefined, operation: 'CreateSecret' | 'PutSecretValue'): string {
  if (versionId === undefined || versionId === '') throw new ServiceError('ERR_SECRET_UNAVAILABLE', `${operation} answered without VersionId`);
  return versionId;
}
