/**
 * `enclavekit sim ssm --state DIR …`: the SSM Parameter Store simulator (sim/ssm). Runs until
 * SIGINT/SIGTERM; writes DIR/ssm.json for programs.
 */
import { startSsmSimulator } from '../../../sim/ssm/index.js';
import { runStoreCommand, usageOf, type StoreCommand } from './store-cli.js';

export const DEFAULT_SSM_PORT = 4444;

const COMMAND: StoreCommand = {
  name: 'ssm',
  cliService: 'ssm',
  endpointVariable: 'AWS_ENDPOINT_URL_SSM',
  example: 'get-parameters-by-path --path / --recursive',
  defaultPort: DEFAULT_SSM_PORT,
  start: startSsmSimulator,
};

const USAGE = usageOf(COMMAND, 'Serves the AWS Systems Manager Parameter Store JSON 1.1 protocol (sim/ssm/README.md).');

export function run(args: string[]): Promise<number> {
  return runStoreCommand(COMMAND, USAGE, args);
}
