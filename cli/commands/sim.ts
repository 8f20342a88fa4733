/**
 * `enclavekit sim <subcommand>`: the simulator (NSM, Nitro PKI and, from its own file, KMS).
 * Each subcommand is one file in cli/commands/sim/ exporting `run(args)`; adding one is one line
 * in SUBCOMMANDS.
 */
type Subcommand = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const SUBCOMMANDS: Record<string, Subcommand> = {
  init: { summary: 'create or complete a simulator state directory (PKI, credentials)', load: () => import('./sim/init.js') },
  root: { summary: 'print the simulated root certificate (PEM)', load: () => import('./sim/root.js') },
  attest: { summary: 'write an attestation document signed by the simulated PKI', load: () => import('./sim/attest.js') },
  kms: { summary: 'serve the KMS simulator (AWS JSON 1.1 over HTTPS, SigV4, key policies, Recipient)', load: () => import('./sim/kms.js') },
};

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return `usage: enclavekit sim <subcommand> [options]\n\nsubcommands:\n${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  const subcommand = SUBCOMMANDS[name];
  if (subcommand === undefined) {
    process.stderr.write(`enclavekit sim: unknown subcommand '${name}'\n${usage()}`);
    return 2;
  }
  const module = await subcommand.load();
  return module.run(rest);
}
