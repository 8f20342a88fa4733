/**
 * The `enclavekit` command. Each subcommand lives in cli/commands/<name>.ts and exports
 * `run(args): Promise<number>` returning the exit code (0 ok, 1 invalid/failed, 2 usage); all of
 * them parse their arguments with cli/args.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  attest: { summary: 'verify attestation documents', load: () => import('./commands/attest.js') },
  sim: { summary: 'simulated NSM, Nitro PKI and KMS for development and CI', load: () => import('./commands/sim.js') },
  pcr: { summary: 'print the PCR of a file (SHA384(zeros(48) || SHA384(bytes)))', load: () => import('./commands/pcr.js') },
  seal: { summary: 'seal a value offline to a KMS RSA public key (the kmsRsa input)', load: () => import('./commands/seal.js') },
  secrets: { summary: 'seal a secret under the internal KMS key into Parameter Store or Secrets Manager', load: () => import('./commands/secrets.js') },
  policy: { summary: 'generate a KMS key policy bound to enclave PCRs, or explain its verdict for a document', load: () => import('./commands/policy.js') },
  dev: { summary: 'run the whole stack on the simulator (KMS sim, enclave, parent) on loopback', load: () => import('./commands/dev.js') },
  parent: { summary: 'run the parent: HTTP API, enclave links, KMS tunnel proxy', load: () => import('./commands/parent.js') },
  enclave: { summary: 'run the enclave app (dist/enclave.js is the same program)', load: () => import('./commands/enclave.js') },
  status: { summary: "is the parent ready, and if not why (e.g. the last enclave boot's error)", load: () => import('./commands/status.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: enclavekit <command> [options]\n       enclavekit --version\n\ncommands:\n${lines.join('\n')}\n\nRun \`enclavekit <command> --help\` for a command's options.\n`;
}

/** The version of the installed package (its package.json, wherever the CLI runs from). */
export function version(): string {
  const manifest = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return String(manifest.version);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`enclavekit: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}
