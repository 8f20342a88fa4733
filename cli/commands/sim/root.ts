/** `enclavekit sim root --state DIR`: print the simulated root certificate (PEM). */
import { ServiceError } from '../../../shared/errors.js';
import { readTextIfExists } from '../../../sim/pki/files.js';
import { simRootPemPath } from '../../../sim/state.js';
import { parseOptions, required, runCli } from '../../args.js';

const USAGE = `usage: enclavekit sim root --state DIR

Prints the simulated root certificate (PEM). Give it to a verifier explicitly (for example
\`enclavekit attest verify --root FILE\`): nothing trusts it by default.
`;

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit sim root', USAGE, args, async () => {
    const { values } = parseOptions(args, { state: { type: 'string' } });
    const dir = required(values.state, 'state');
    const pem = await readTextIfExists(simRootPemPath(dir));
    if (pem === undefined) {
      throw new ServiceError('ERR_SIM_STATE', `no simulated root in ${dir}: run \`enclavekit sim init --state ${dir}\` first`);
    }
    process.stdout.write(pem);
    return 0;
  });
}
