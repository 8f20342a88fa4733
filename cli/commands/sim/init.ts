/** `enclavekit sim init --state DIR [--account ID]`: create or complete a state directory. */
import { credentialsPath, initSimState, SIM_ROLE_NAMES } from '../../../sim/state.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';

const USAGE = `usage: enclavekit sim init --state DIR [--account ID]

Creates DIR with a simulated Nitro PKI (P-384 root, regional and zonal CAs; keys 0600) and
credentials.json (role/${SIM_ROLE_NAMES.join(', role/')}). Idempotent: an existing root and existing
credentials are kept.
  --state DIR     simulator state directory
  --account ID    12-digit AWS account id of the simulated principals (default 111122223333)
`;

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit sim init', USAGE, args, async () => {
    const { values } = parseOptions(args, { state: { type: 'string' }, account: { type: 'string' } });
    const dir = required(values.state, 'state');
    if (values.account !== undefined && !/^\d{12}$/.test(values.account)) throw new UsageError('--account must be 12 digits');
    const result = await initSimState(dir, values.account === undefined ? {} : { account: values.account });
    process.stdout.write(
      `simulator state: ${dir}\n` +
        `root certificate: ${result.rootPemPath} (${result.createdRoot ? 'created' : 'kept'})\n` +
        `credentials: ${credentialsPath(dir)} (account ${result.account})\n`,
    );
    return 0;
  });
}
