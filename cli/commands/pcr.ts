/**
 * `enclavekit pcr FILE`: the PCR value of a file's bytes as the simulator measures an enclave
 * bundle (PCR2), SHA384(zeros(48) ‖ SHA384(bytes)) (docs/formats.md section 6), as lower-case hex.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pcrOfBytes } from '../../shared/pcr.js';

const USAGE = `usage: enclavekit pcr FILE

Prints SHA384(zeros(48) || SHA384(FILE)) in hex: the PCR2 a simulated enclave running FILE as its
bundle reports (the EIF formula of PCR0/1/2/8).
`;

export async function run(args: string[]): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true }));
  } catch (error) {
    process.stderr.write(`enclavekit pcr: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    process.stderr.write(`enclavekit pcr: ${file}: ${(error as NodeJS.ErrnoException).code ?? 'cannot read'}\n`);
    return 1;
  }
  process.stdout.write(`${pcrOfBytes(bytes)}\n`);
  return 0;
}
