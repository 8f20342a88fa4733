/**
 * KMS clients for the benchmarks against the KMS simulator: one attempt per call (a bench measures
 * the first answer, not the SDK's retries), trusting the simulator's CA.
 */
import { Agent } from 'node:https';
import { KMSClient, type KMS } from '@aws-sdk/client-kms';
import type { KmsKeyringNodeInput } from '@aws-crypto/kms-keyring-node';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export function kmsClient(sim: { endpoint: string; region: string; caPem: string | null }, credentials: { accessKeyId: string; secretAccessKey: string }): KMSClient {
  return new KMSClient({
    endpoint: sim.endpoint,
    region: sim.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: sim.caPem ?? undefined, keepAlive: false }) }),
  });
}

/** The ESDK keyring's client provider, always answering with `kms`. */
export function esdkClientProvider(kms: KMS): NonNullable<KmsKeyringNodeInput['clientProvider']> {
  return () => kms as unknown as ReturnType<NonNullable<KmsKeyringNodeInput['clientProvider']>>;
}
