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
      // Without this, @smithy/node-http-handler 4.x only logs a warning when requestTimeout
      // passes and the attempt waits for KMS indefinitely (httpHandlerInitialization.d.ts:
      // "a breach of the request timeout will be logged as a warning"). With it, the attempt
      // fails with TimeoutError, which the standard retry mode retries and kms-errors.ts maps to
      // ERR_KMS_UNAVAILABLE. Found by test/faults/kms-outage.test.ts (slow KMS).
      throwOnRequestTimeout: true,
    }),
  });
  return { client, agent };
}
