/**
 * Reads sealed secrets from Parameter Store and Secrets Manager with the unmodified SDK clients,
 * over the same tunnelled TLS as KMS (enclave/kms/tunnelled-client.ts): the parent relays bytes
 * it cannot read, and what the store returns is ciphertext anyway. SSM `GetParameter` is called
 * without decryption (the value is our own KMS ciphertext, not a SecureString); Secrets Manager
 * `GetSecretValue` asks for the AWSCURRENT stage (AWS Secrets Manager API Reference,
 * GetSecretValue: VersionStage). Each answer must name the secret in the account and Region of
 * `secrets.keyArn` (./store-answer.ts): the parent chooses the credentials, not the account read.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnclaveKitError, ServiceError } from '../../shared/errors.js';
import type { SecretStoreName } from '../../shared/secrets/sealed-secret.js';
import { secretsManagerEndpointOf, ssmEndpointOf, type EnclaveConfig } from '../config.js';
import type { AwsCredentials } from '../credentials.js';
import type { OpenProxyStream, TunnelAgent } from '../kms/tunnel.js';
import { tunnelledClientConfig } from '../kms/tunnelled-client.js';
import { awsErrorName } from '../../shared/aws/error-name.js';
import { parseKmsKeyArn } from '../../shared/aws/kms-key-arn.js';
import { checkParameterAnswer, checkSecretAnswer } from './store-answer.js';

export interface SecretItem {
  store: SecretStoreName;
  name: string;
}

/** What a store holds for one secret: its version id and the stored (base64 ciphertext) value. */
export interface StoredSecret {
  version: string;
  value: string;
}

export interface SecretSource {
  read(item: SecretItem): Promise<StoredSecret>;
  destroy(): void;
}

export function createStoreSource(
  config: Pick<EnclaveConfig, 'kms' | 'secrets'>,
  openProxyStream: OpenProxyStream,
  credentials: () => Promise<AwsCredentials>,
): SecretSource {
  const agents: TunnelAgent[] = [];
  // The config schema only admits key ARNs, so this is undefined only without a secrets section.
  const pin = config.secrets === undefined ? undefined : parseKmsKeyArn(config.secrets.keyArn);
  let ssm: SSMClient | undefined;
  let sm: SecretsManagerClient | undefined;
  const ssmClient = (): SSMClient => {
    if (ssm === undefined) {
      const { clientConfig, agent } = tunnelledClientConfig(config, ssmEndpointOf(config), openProxyStream, credentials);
      agents.push(agent);
      ssm = new SSMClient(clientConfig);
    }
    return ssm;
  };
  const smClient = (): SecretsManagerClient => {
    if (sm === undefined) {
      const { clientConfig, agent } = tunnelledClientConfig(config, secretsManagerEndpointOf(config), openProxyStream, credentials);
      agents.push(agent);
      sm = new SecretsManagerClient(clientConfig);
    }
    return sm;
  };
  return {
    async read(item) {
      try {
        if (pin === undefined) throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'secrets.keyArn is not a KMS key ARN');
        if (item.store === 'ssm') {
          const out = await ssmClient().send(new GetParameterCommand({ Name: item.name, WithDecryption: false }));
          const { Value, Version, ARN } = out.Parameter ?? {};
          if (Value === undefined || Version === undefined) throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetParameter answered without Value or Version');
          checkParameterAnswer(pin, item.name, ARN);
          return { version: String(Version), value: Value };
        }
        const out = await smClient().send(new GetSecretValueCommand({ SecretId: item.name, VersionStage: 'AWSCURRENT' }));
        if (out.SecretString === undefined || out.VersionId === undefined) {
          throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetSecretValue answered without SecretString or VersionId');
        }
        checkSecretAnswer(pin, item.name, out.ARN, out.Name);
        return { version: out.VersionId, value: out.SecretString };
      } catch (error) {
        throw mapStoreError(error, item.store);
      }
    },
    destroy() {
      ssm?.destroy();
      sm?.destroy();
      for (const agent of agents) agent.destroy();
    },
  };
}

/** Any failure to read becomes ERR_SECRET_UNAVAILABLE, naming the AWS exception (never a value). */
function mapStoreError(error: unknown, store: SecretStoreName): EnclaveKitError {
  if (error instanceof EnclaveKitError && error.code === 'ERR_SECRET_UNAVAILABLE') return error;
  const operation = store === 'ssm' ? 'GetParameter' : 'GetSecretValue';
  return new ServiceError('ERR_SECRET_UNAVAILABLE', `${operation} failed: ${awsErrorName(error)}`, { cause: error });
}
