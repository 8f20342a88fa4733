/**
 * `enclavekit secrets <subcommand>`: sealed secrets for the enclave (docs/secrets.md). Each
 * subcommand is one file in cli/commands/secrets/ exporting `run(args)`.
 */
import { runSubcommand, type Subcommand } from '../subcommands.js';

const SUBCOMMANDS: Record<string, Subcommand> = {
  put: { summary: 'seal stdin under the internal KMS key and store it in Parameter Store or Secrets Manager', load: () => import('./secrets/put.js') },
};

export function run(args: string[]): Promise<number> {
  return runSubcommand('secrets', SUBCOMMANDS, args);
}
