/**
 * The `enclavekit` command. Each subcommand lives in cli/commands/<name>.ts and exports
 * `run(args): Promise<number>` returning the exit code (0 ok, 1 invalid/failed, 2 usage).
 */
type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  attest: { summary: 'verify attestation documents', load: () => import('./commands/attest.js') },
  sim: { summary: 'simulated NSM, Nitro PKI and KMS for development and CI', load: () => import('./commands/sim.js') },
  pcr: { summary: 'print the PCR of a file (SHA384(zeros(48) || SHA384(bytes)))', load: () => import('./commands/pcr.js') },
  policy: { summary: 'generate a KMS key policy bound to enclave PCRs, or explain its verdict for a document', load: () => import('./commands/policy.js') },
  dev: { summary: 'run the whole stack on the simulator (KMS sim, enclave, parent) on loopback', load: () => import('./commands/dev.js') },
  parent: { summary: 'run the parent: HTTP API, enclave links, KMS tunnel proxy', load: () => import('./commands/parent.js') },
  enclave: { summary: 'run the enclave app (dist/enclave.js is the same program)', load: () => import('./commands/enclave.js') },
  status: { summary: "is the parent ready, and if not why (e.g. the last enclave boot's error)", load: () => import('./commands/status.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: enclavekit <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`enclavekit: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}
