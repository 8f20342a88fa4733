/** A producer service: seals card records with the AWS Encryption SDK (as any ESDK language would). */
import https from 'node:https';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import type { KmsSimulator } from '../../sim/kms/index.js';
import type { SimPrincipal } from '../../sim/state.js';
import { esdkClientProvider } from '../sealed/harness.js';

const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

export interface Producer {
  seal(plaintext: string | Uint8Array, context?: Record<string, string>): Promise<string>;
  sealCard(card: { pan: string; exp: string; cvc?: string; name?: string }): Promise<string>;
  close(): void;
}

export function esdkProducer(sim: Pick<KmsSimulator, 'endpoint' | 'region' | 'caPem'>, principal: SimPrincipal, keyArn: string): Producer {
  const kms = new KMS({
    endpoint: sim.endpoint,
    region: sim.region,
    credentials: { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: sim.caPem ?? undefined, keepAlive: true }) }),
  });
  const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: esdkClientProvider(kms) });
  const seal = async (plaintext: string | Uint8Array, context: Record<string, string> = { purpose: 'card' }): Promise<string> => {
    const { result } = await encrypt(keyring, typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext, { encryptionContext: context });
    return Buffer.from(result).toString('base64');
  };
  return {
    seal,
    sealCard: (card) => seal(JSON.stringify(card)),
    close: () => kms.destroy(),
  };
}
