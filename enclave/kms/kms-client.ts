/**
 * Builds the enclave's `@aws-sdk/client-kms` client: the unmodified SDK over tunnelled TLS
 * (tunnelled-client.ts), signing with credentials the parent hands over. Retries use the SDK's
 * standard mode (exponential backoff with jitter, throttling-aware).
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { EnclaveConfig } from '../config.js';
import { kmsEndpointOf } from '../config.js';
import type { AwsCredentials } from '../credentials.js';
import type { OpenProxyStream, TunnelAgent } from './tunnel.js';
import { tunnelledClientConfig } from './tunnelled-client.js';

export function createEnclaveKmsClient(
  config: Pick<EnclaveConfig, 'kms'>,
  openProxyStream: OpenProxyStream,
  credentials: () => Promise<AwsCredentials>,
): { client: KMSClient; agent: TunnelAgent } {
  const { clientConfig, agent } = tunnelledClientConfig(config, kmsEndpointOf(config), openProxyStream, credentials);
  return { client: new KMSClient(clientConfig), agent };
}
