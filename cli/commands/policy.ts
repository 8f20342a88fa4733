/**
 * `enclavekit policy <subcommand>`: KMS key-policy tooling.
 *   generate  write a key policy bound to enclave measurements (shared/policy/generate.ts)
 *   explain   evaluate a key policy for an attestation document, as KMS would (sim/kms/policy)
 */
import { runSubcommand, type Subcommand } from '../subcommands.js';

const SUBCOMMANDS: Record<string, Subcommand> = {
  generate: { summary: 'write a KMS key policy bound to enclave PCRs', load: () => import('./policy/generate.js') },
  explain: { summary: 'evaluate a key policy against an attestation document (allow: exit 0, deny: exit 1)', load: () => import('./policy/explain.js') },
};

export function run(args: string[]): Promise<number> {
  return runSubcommand('policy', SUBCOMMANDS, args);
}
