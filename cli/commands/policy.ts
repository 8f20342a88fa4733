/**
 * `enclavekit policy <subcommand>`: KMS key-policy tooling (issue 7 item 3).
 *   generate  write a key policy bound to enclave measurements (shared/policy/generate.ts)
 *   explain   evaluate a key policy for an attestation document, as KMS would (sim/kms/policy)
 */
type Subcommand = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const SUBCOMMANDS: Record<string, Subcommand> = {
  generate: { summary: 'write a KMS key policy bound to enclave PCRs', load: () => import('./policy/generate.js') },
  explain: { summary: 'evaluate a key policy against an attestation document (allow: exit 0, deny: exit 1)', load: () => import('./policy/explain.js') },
};

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
  return `usage: enclavekit policy <subcommand> [options]\n\nsubcommands:\n${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  const subcommand = SUBCOMMANDS[name];
  if (subcommand === undefined) {
    process.stderr.write(`enclavekit policy: unknown subcommand '${name}'\n${usage()}`);
    return 2;
  }
  const module = await subcommand.load();
  return module.run(rest);
}
