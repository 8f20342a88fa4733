/** Dispatch for commands with subcommands (`enclavekit sim ...`, `enclavekit policy ...`). */
export type Subcommand = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

export async function runSubcommand(command: string, table: Readonly<Record<string, Subcommand>>, args: string[]): Promise<number> {
  const usage = (): string => {
    const lines = Object.entries(table).map(([name, s]) => `  ${name.padEnd(10)} ${s.summary}`);
    return `usage: enclavekit ${command} <subcommand> [options]\n\nsubcommands:\n${lines.join('\n')}\n`;
  };
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  const subcommand = Object.hasOwn(table, name) ? table[name] : undefined;
  if (subcommand === undefined) {
    process.stderr.write(`enclavekit ${command}: unknown subcommand '${name}'\n${usage()}`);
    return 2;
  }
  const module = await subcommand.load();
  return module.run(rest);
}
