/**
 * The local stack's Parameter Store and Secrets Manager simulators (sim/ssm, sim/secrets-manager),
 * in this process on the simulator state directory, each on its own free port and trusting the
 * KMS simulator's CA, plus SDK clients for a principal (the `beforeEnclaves` hook puts sealed
 * secrets with them).
 */
import { extraCaAgent } from '../extra-ca-agent.js';
import { readFile } from 'node:fs/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startSecretsManagerSimulator } from '../../sim/secrets-manager/index.js';
import { startSsmSimulator } from '../../sim/ssm/index.js';
import type { Principal } from './demo-key.js';

export interface StoreEndpoint {
  endpoint: string;
  region: string;
  caFile: string | null;
}

export interface StackStores {
  ssm: StoreEndpoint;
  secretsManager: StoreEndpoint;
  close(): Promise<void>;
}

export async function startStackStores(simDir: string): Promise<StackStores> {
  const ssm = await startSsmSimulator({ stateDir: simDir, silent: true });
  const secretsManager = await startSecretsManagerSimulator({ stateDir: simDir, silent: true }).catch(async (error: unknown) => {
    await ssm.close();
    throw error;
  });
  const endpointOf = (s: { endpoint: string; region: string; caFile: string | null }): StoreEndpoint => ({ endpoint: s.endpoint, region: s.region, caFile: s.caFile });
  return {
    ssm: endpointOf(ssm),
    secretsManager: endpointOf(secretsManager),
    close: async () => void (await Promise.all([ssm.close(), secretsManager.close()])),
  };
}

/** The unmodified SDK clients of both stores for `principal`; destroy them when done. */
export async function storeClientsFor(stores: Pick<StackStores, 'ssm' | 'secretsManager'>, principal: Principal): Promise<{ ssm: SSMClient; secretsManager: SecretsManagerClient }> {
  const handler = async (store: StoreEndpoint): Promise<NodeHttpHandler> => {
    const ca = store.caFile === null ? undefined : await readFile(store.caFile);
    return new NodeHttpHandler({ httpsAgent: extraCaAgent(ca, { keepAlive: true }) });
  };
  const credentials = { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey };
  return {
    ssm: new SSMClient({ region: stores.ssm.region, endpoint: stores.ssm.endpoint, credentials, requestHandler: await handler(stores.ssm) }),
    secretsManager: new SecretsManagerClient({ region: stores.secretsManager.region, endpoint: stores.secretsManager.endpoint, credentials, requestHandler: await handler(stores.secretsManager) }),
  };
}
