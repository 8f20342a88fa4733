/** `enclavekit enclave --config FILE`: the enclave app in this process (dist/enclave.js is the same). */
import { runEnclave } from '../../enclave/run.js';
import { UsageError, parseOptions, wantsHelp } from '../args.js';

const USAGE = `usage: enclavekit enclave --config FILE

Runs the enclave app in this process until SIGINT or SIGTERM (in production the enclave image runs
dist/enclave.js, the same program). The config file's fields are in docs/config.md.
  --config FILE   enclave config (JSON)
`;

export function run(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(USAGE);
    return Promise.resolve(0);
  }
  try {
    const { values } = parseOptions(args, { config: { type: 'string' } });
    if (values.config === undefined) throw new UsageError('--config is required');
  } catch (error) {
    process.stderr.write(`enclavekit enclave: ${(error as Error).message}\n${USAGE}`);
    return Promise.resolve(2);
  }
  return runEnclave(args);
}
