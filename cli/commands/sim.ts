/**
 * `enclavekit sim <subcommand>`: the simulator (NSM, Nitro PKI and, from its own file, KMS).
 * Each subcommand is one file in cli/commands/sim/ exporting `run(args)`; adding one is one line
 * in SUBCOMMANDS.
 */
import { runSubcommand, type Subcommand } from '../subcommands.js';

const SUBCOMMANDS: Record<string, Subcommand> = {
  init: { summary: 'create or complete a simulator state directory (PKI, credentials)', load: () => import('./sim/init.js') },
  root: { summary: 'print the simulated root certificate (PEM)', load: () => import('./sim/root.js') },
  attest: { summary: 'write an attestation document signed by the simulated PKI', load: () => import('./sim/attest.js') },
  nsm: { summary: 'serve the simulated NSM on a Unix socket for your own enclave app (sim+unix://PATH)', load: () => import('./sim/nsm.js') },
  kms: { summary: 'serve the KMS simulator (AWS JSON 1.1 over HTTPS, SigV4, key policies, Recipient)', load: () => import('./sim/kms.js') },
  ssm: { summary: 'serve the SSM Parameter Store simulator (own port, KMS-sealed SecureStrings)', load: () => import('./sim/ssm.js') },
  secretsmanager: { summary: 'serve the Secrets Manager simulator (own port, versions and staging labels)', load: () => import('./sim/secretsmanager.js') },
};

export function run(args: string[]): Promise<number> {
  return runSubcommand('sim', SUBCOMMANDS, args);
}
