/**
 * startSsmSimulator: the Parameter Store simulator as an in-process server (tests) or behind
 * `enclavekit sim ssm` (cli/commands/sim/ssm.ts). AWS JSON 1.1 (`X-Amz-Target: AmazonSSM.<Op>`),
 * SigV4 signing name `ssm`, its own port, the KMS simulator's CA; writes DIR/ssm.json
 * {"endpoint", "region", "caFile"}.
 */
import type { JsonOperation } from '../json-service/handler.js';
import { startJsonService, type JsonService, type JsonServiceOptions } from '../json-service/server.js';
import { loadSimConfig } from '../state.js';
import type { SsmContext } from './context.js';
import { getParameter, getParameterHistory, getParameters, getParametersByPath } from './read.js';
import { openSsmState } from './store.js';
import { deleteParameter, deleteParameters, labelParameterVersion, putParameter } from './write.js';

export const SSM_DISCOVERY = 'ssm';

export type SsmSimulatorOptions = JsonServiceOptions;
export type SsmSimulator = JsonService;

export async function startSsmSimulator(options: SsmSimulatorOptions): Promise<SsmSimulator> {
  const region = options.region ?? (await loadSimConfig(options.stateDir)).region;
  const ctx: SsmContext = { stateDir: options.stateDir, region, state: await openSsmState(options.stateDir) };
  return startJsonService({ ...options, region }, {
    label: 'SSM Parameter Store',
    targetPrefix: 'AmazonSSM.',
    signingName: 'ssm',
    discoveryName: SSM_DISCOVERY,
    operations: ssmOperations(ctx),
    onClose: () => ctx.state.settle(),
  });
}

/** The operations the simulator answers, by X-Amz-Target name (the README's table lists the same). */
export function ssmOperations(ctx: SsmContext): Record<string, JsonOperation> {
  return {
    PutParameter: putParameter(ctx),
    GetParameter: getParameter(ctx),
    GetParameters: getParameters(ctx),
    GetParametersByPath: getParametersByPath(ctx),
    GetParameterHistory: getParameterHistory(ctx),
    DeleteParameter: deleteParameter(ctx),
    DeleteParameters: deleteParameters(ctx),
    LabelParameterVersion: labelParameterVersion(ctx),
  };
}
