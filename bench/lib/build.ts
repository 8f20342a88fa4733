/**
 * Builds the CLI and the enclave bundle for the benchmarks into build/bench/ (gitignored), once per
 * bench process. A private output directory, not dist/: other work on this tree rebuilds dist/ at
 * any time (npm test does), and a bench must measure the source it was started on, not whatever
 * dist/ held. The CLI bundle keeps its packages external, so it has to live inside the repository
 * (resolution walks up to node_modules); build/ is inside it and ignored by git.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const REPO = path.resolve(import.meta.dirname, '../..');
const OUTDIR = path.join(REPO, 'build', 'bench');

export interface BenchBuild {
  /** Bundled CLI (exports `main(argv)`); run through `cliArgv`. */
  cli: string;
  /** The production enclave bundle (`node enclave.js --config FILE`). */
  enclave: string;
}

let built: Promise<BenchBuild> | undefined;

export function benchBuild(): Promise<BenchBuild> {
  built ??= promisify(execFile)(process.execPath, [path.join(REPO, 'scripts/build.mjs'), '--outdir', OUTDIR], { cwd: REPO }).then(() => ({
    cli: path.join(OUTDIR, 'cli.js'),
    enclave: path.join(OUTDIR, 'enclave.js'),
  }));
  return built;
}

/**
 * argv for `node` to run the bundled CLI with `args`, as bin/enclavekit.js does (that launcher
 * only knows dist/cli.js).
 */
export function cliArgv(cli: string, args: readonly string[]): string[] {
  const launcher = 'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));';
  return ['--input-type=module', '-e', launcher, cli, ...args];
}
