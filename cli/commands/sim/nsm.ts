/**
 * `enclavekit sim nsm --state DIR --socket PATH …`: the simulated NSM alone, for your own enclave
 * app in dev and CI. It serves the NSM request protocol (CBOR requests as on /dev/nsm) on a Unix
 * socket; point the app at it as `sim+unix://PATH` (enclave/nsm/open.ts) and verify its documents
 * with the state directory's simulated root (DIR/root.pem). PCR0-2 are measured from --bundle, the
 * program the app runs, so a key policy bound to them admits exactly that code. Runs until
 * SIGINT/SIGTERM or until the supervisor that started it dies.
 */
import { readFile, rm } from 'node:fs/promises';
import { untilStopped } from '../../until-stopped.js';
import { ZERO_PCR_HEX } from '../../../shared/pcr.js';
import { measureEnclave } from '../../../sim/nsm/measure.js';
import { serveNsm } from '../../../sim/nsm/server.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../../sim/nsm/simulated-nsm.js';
import { initSimState, loadSimPki, simRootPemPath } from '../../../sim/state.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';
import { INSTANCE_ID, parsePcrOptions } from './attest.js';

const USAGE = `usage: enclavekit sim nsm --state DIR --socket PATH [--bundle FILE] [--pcr N=HEX]...
         [--role-arn ARN] [--instance-id ID]

Serves a simulated NSM on the Unix socket PATH (your enclave app's nsm: sim+unix://PATH) until
SIGINT or SIGTERM. Its documents are signed by the simulated PKI in DIR (created when missing);
verify them with --root DIR/root.pem. PCR0-2 are measured from --bundle (an empty bundle when
absent), PCR3 from --role-arn (zero when absent), PCR4 from the instance id (random when absent);
--pcr N=HEX (N 0-15, 96 hex digits) overrides any of them.
`;

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit sim nsm', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      state: { type: 'string' },
      socket: { type: 'string' },
      bundle: { type: 'string' },
      pcr: { type: 'string', multiple: true },
      'role-arn': { type: 'string' },
      'instance-id': { type: 'string' },
    });
    const dir = required(values.state, 'state');
    const socket = required(values.socket, 'socket');
    const overrides = parsePcrOptions(values.pcr ?? [], false);
    const instanceId = values['instance-id'] ?? randomInstanceId();
    if (!INSTANCE_ID.test(instanceId)) throw new UsageError('--instance-id must be i- and 8 or 17 hex digits');
    const appBundle = values.bundle === undefined ? new Uint8Array(0) : new Uint8Array(await readFile(values.bundle));

    await initSimState(dir);
    const pcrs: Record<number, string> = { ...measureEnclave({ appBundle, roleArn: values['role-arn'], instanceId }) };
    for (const [index, value] of overrides) pcrs[index] = value;
    const pki = await loadSimPki(dir, Date.now());
    const nsm = new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(Date.now(), instanceId) });
    // A socket file left by a killed run would make listen fail with EADDRINUSE.
    await rm(socket, { force: true });
    const server = await serveNsm(nsm, socket);
    const shown = [0, 1, 2, 3, 4].map((index) => `PCR${index}=${pcrs[index] ?? ZERO_PCR_HEX}`);
    process.stdout.write(`nsm: sim+unix://${socket}\nroot: ${simRootPemPath(dir)}\nmodule: ${nsm.moduleId}\n  ${shown.join('\n  ')}\n`);

    await untilStopped();
    await server.close();
    await nsm.close();
    return 0;
  });
}
