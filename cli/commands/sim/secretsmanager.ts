/**
 * `enclavekit sim secretsmanager --state DIR …`: the Secrets Manager simulator
 * (sim/secrets-manager). Runs until SIGINT/SIGTERM; writes DIR/secretsmanager.json for programs.
 */
import { startSecretsManagerSimulator } from '../../../sim/secrets-manager/index.js';
import { runStoreCommand, usageOf, type StoreCommand } from './store-cli.js';

export const DEFAULT_SECRETS_MANAGER_PORT = 4445;

const COMMAND: StoreCommand = {
  name: 'secretsmanager',
  cliService: 'secretsmanager',
  endpointVariable: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  example: 'list-secrets',
  defaultPort: DEFAULT_SECRETS_MANAGER_PORT,
  start: startSecretsManagerSimulator,
};

const USAGE = usageOf(COMMAND, 'Serves the AWS Secrets Manager JSON 1.1 protocol (sim/secrets-manager/README.md).');

export function run(args: string[]): Promise<number> {
  return runStoreCommand(COMMAND, USAGE, args);
}
