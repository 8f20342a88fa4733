/**
 * `enclavekit pcr FILE`: the PCR value of a file's bytes as the simulator measures an enclave
 * bundle (PCR2), SHA384(zeros(48) ‖ SHA384(bytes)) (docs/formats.md section 6), as lower-case hex.
 */
import { readFile } from 'node:fs/promises';
import { pcrOfBytes } from '../../shared/pcr.js';
import { UsageError, parseOptions, runCli } from '../args.js';

const USAGE = `usage: enclavekit pcr FILE

Prints SHA384(zeros(48) || SHA384(FILE)) in hex: the PCR2 a simulated enclave running FILE as its
bundle reports (the EIF formula of PCR0/1/2/8).
`;

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit pcr', USAGE, args, async () => {
    const { positionals } = parseOptions(args, {}, true);
    const [file, ...extra] = positionals;
    if (file === undefined) throw new UsageError('FILE is required');
    if (extra.length > 0) throw new UsageError('exactly one FILE is expected');
    process.stdout.write(`${pcrOfBytes(await readFile(file))}\n`);
    return 0;
  });
}
