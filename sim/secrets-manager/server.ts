/**
 * startSecretsManagerSimulator: the Secrets Manager simulator as an in-process server (tests) or
 * behind `enclavekit sim secretsmanager` (cli/commands/sim/secretsmanager.ts). AWS JSON 1.1
 * (`X-Amz-Target: secretsmanager.<Op>`), SigV4 signing name `secretsmanager`, its own port, the KMS
 * simulator's CA; writes DIR/secretsmanager.json {"endpoint", "region", "caFile"}.
 */
import type { JsonOperation } from '../json-service/handler.js';
import { startJsonService, type JsonService, type JsonServiceOptions } from '../json-service/server.js';
import { loadSimConfig } from '../state.js';
import type { SecretsContext } from './context.js';
import { describeSecretOperation, getSecretValue, listSecrets } from './read.js';
import { openSecretsState } from './store.js';
import { createSecret, deleteSecret, putSecretValue, restoreSecret, updateSecretVersionStage } from './write.js';

export const SECRETS_MANAGER_DISCOVERY = 'secretsmanager';

export type SecretsManagerSimulatorOptions = JsonServiceOptions;
export type SecretsManagerSimulator = JsonService;

export async function startSecretsManagerSimulator(options: SecretsManagerSimulatorOptions): Promise<SecretsManagerSimulator> {
  const region = options.region ?? (await loadSimConfig(options.stateDir)).region;
  const ctx: SecretsContext = { stateDir: options.stateDir, region, state: await openSecretsState(options.stateDir) };
  return startJsonService({ ...options, region }, {
    label: 'Secrets Manager',
    targetPrefix: 'secretsmanager.',
    signingName: 'secretsmanager',
    discoveryName: SECRETS_MANAGER_DISCOVERY,
    operations: secretsManagerOperations(ctx),
    onClose: () => ctx.state.settle(),
  });
}

/** The operations the simulator answers, by X-Amz-Target name (the README's table lists the same). */
export function secretsManagerOperations(ctx: SecretsContext): Record<string, JsonOperation> {
  return {
    CreateSecret: createSecret(ctx),
    PutSecretValue: putSecretValue(ctx),
    GetSecretValue: getSecretValue(ctx),
    DescribeSecret: describeSecretOperation(ctx),
    ListSecrets: listSecrets(ctx),
    UpdateSecretVersionStage: updateSecretVersionStage(ctx),
    DeleteSecret: deleteSecret(ctx),
    RestoreSecret: restoreSecret(ctx),
  };
}
