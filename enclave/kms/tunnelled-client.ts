/**
 * What every AWS SDK client in the enclave shares: its HTTPS connections are TLS sessions opened
 * here over tunnels through the parent (tunnel.ts), so the server's certificate check and SigV4
 * end inside the enclave; it signs with credentials the parent hands over; region, CA file,
 * attempts and timeouts are those of the `kms` section. The KMS client and the Parameter Store and
 * Secrets Manager clients (enclave/secrets) are built from this one helper.
 */
import { readFileSync } from 'node:fs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { EnclaveConfig } from '../config.js';
import type { AwsCredentials } from '../credentials.js';
import { TunnelAgent, type OpenProxyStream } from './tunnel.js';

export interface TunnelledClientConfig {
  region: string;
  endpoint: string;
  credentials: () => Promise<AwsCredentials>;
  maxAttempts: number;
  retryMode: 'standard';
  requestHandler: NodeHttpHandler;
}

export function tunnelledClientConfig(
  config: Pick<EnclaveConfig, 'kms'>,
  endpoint: URL,
  openProxyStream: OpenProxyStream,
  credentials: () => Promise<AwsCredentials>,
): { clientConfig: TunnelledClientConfig; agent: TunnelAgent } {
  const agent = new TunnelAgent({
    openStream: openProxyStream,
    ...(config.kms.caFile === undefined ? {} : { ca: readFileSync(config.kms.caFile) }),
  });
  const clientConfig: TunnelledClientConfig = {
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
      // passes and the attempt waits indefinitely (httpHandlerInitialization.d.ts: "a breach of
      // the request timeout will be logged as a warning"). With it, the attempt fails with
      // TimeoutError, which the standard retry mode retries and kms-errors.ts maps to
      // ERR_KMS_UNAVAILABLE. Found by test/faults/kms-outage.test.ts (slow KMS).
      throwOnRequestTimeout: true,
    }),
  };
  return { clientConfig, agent };
}
