/**
 * Credentials the parent hands to the enclave for SigV4 (the enclave signs its own KMS requests).
 * On EC2: the instance role through the SDK's default provider chain (IMDSv2). In dev: the
 * simulator's enclave-role principal from its credentials file. The parent holds these anyway
 * (same instance role), which is why key policies must require attestation for that role.
 */
import { readFile } from 'node:fs/promises';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ServiceError } from '../shared/errors.js';

/** The wire shape sent to the enclave (`credentials` RPC). */
export interface EnclaveCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** ms since epoch; absent for long-lived keys. */
  expiration?: number | undefined;
}

export type CredentialSource =
  | { source: 'default-chain' }
  | { source: 'file'; file: string; arn: string };

export type CredentialProvider = () => Promise<EnclaveCredentials>;

export function createCredentialProvider(config: CredentialSource): CredentialProvider {
  if (config.source === 'default-chain') {
    const chain = fromNodeProviderChain();
    return async () => {
      try {
        const c = await chain();
        return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration?.getTime() };
      } catch (error) {
        throw new ServiceError('ERR_KMS_UNAVAILABLE', 'no AWS credentials on the parent', { cause: error });
      }
    };
  }
  return async () => {
    let principals: unknown;
    try {
      principals = JSON.parse(await readFile(config.file, 'utf8'));
    } catch (error) {
      throw new ServiceError('ERR_CONFIG', 'cannot read the credentials file', { cause: error });
    }
    const match = Array.isArray(principals)
      ? (principals as Record<string, unknown>[]).find((p) => p.arn === config.arn)
      : undefined;
    if (match === undefined || typeof match.accessKeyId !== 'string' || typeof match.secretAccessKey !== 'string') {
      throw new ServiceError('ERR_CONFIG', `no credentials for ${config.arn} in the credentials file`);
    }
    return {
      accessKeyId: match.accessKeyId,
      secretAccessKey: match.secretAccessKey,
      sessionToken: typeof match.sessionToken === 'string' ? match.sessionToken : undefined,
    };
  };
}
