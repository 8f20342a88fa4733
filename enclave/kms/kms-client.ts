/**
 * Builds the enclave's `@aws-sdk/client-kms` client: the unmodified SDK, whose HTTPS connections
 * are TLS sessions opened here over tunnels through the parent (tunnel.ts), signing with
 * credentials the parent hands over. Retries use the SDK's standard mode (exponential backoff
 * with jitter, throttling-aware).
 */
import { readFileSync } from 'node:fs';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { EnclaveConfig } from '../config.js';
import { kmsEndpointOf } from '../config.js';
import type { AwsCredentials } from '../credentials.js';
import { TunnelAgent, type OpenProxyStream } from './tunnel.js';

export function createEnclaveKmsClient(
  config: Pick<EnclaveConfig, 'kms'>,
  openProxyStream: OpenProxyStream,
  credentials: () => Promise<AwsCredentials>,
): { client: KMSClient; agent: TunnelAgent } {
  const endpoint = kmsEndpointOf(config);
  const agent = new TunnelAgent({
    openStream: openProxyStream,
    ...(config.kms.caFile === undefined ? {} : { ca: readFileSync(config.kms.caFile) }),
  });
  const client = new KMSClient({
    region: config.kms.region,
    endpoint: endpoint.toString(),
    credentials,
    maxAttempts: config.kms.maxAttempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      httpsAgent: agent,
      connectionTimeout: config.kms.requestTimeoutMs,
      requestTimeout: config.kms.requestTimeoutMs,
    }),
  });
  return { client, agent };
}
