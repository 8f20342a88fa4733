/**
 * `enclavekit sim attest --state DIR …`: boots a simulated NSM once and writes one attestation
 * document signed by the state directory's simulated PKI (binary COSE_Sign1, as /dev/nsm gives).
 */
import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ZERO_PCR_HEX } from '../../../shared/pcr.js';
import { measureEnclave } from '../../../sim/nsm/measure.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../../sim/nsm/simulated-nsm.js';
import { loadSimPki } from '../../../sim/state.js';
import { UsageError, hexOption, parseOptions, required, runCli } from '../../args.js';

const USAGE = `usage: enclavekit sim attest --state DIR [--public-key PEM_OR_DER_FILE] [--user-data HEX]
         [--nonce HEX] [--pcr N=HEX]... [--debug] [--bundle FILE] [--role-arn ARN]
         [--instance-id ID] [--out FILE]

Writes one attestation document signed by the simulated PKI in DIR: to FILE, or as binary to
stdout. PCR0-2 are measured from --bundle (an empty bundle when absent), PCR3 from --role-arn
(zero when absent), PCR4 from the instance id (random when absent); --pcr N=HEX (N 0-15, 96 hex
digits) overrides any of them; --debug makes PCR0-2 zero, as in a debug-mode enclave.
  --public-key FILE   public key for the document's public_key: PEM (any key type) or DER SPKI
  --user-data HEX     user_data (at most 1024 bytes)
  --nonce HEX         nonce (at most 1024 bytes)
`;

const PCR_OPTION = /^(\d{1,2})=([0-9a-fA-F]{96})$/;
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export function parsePcrOptions(values: readonly string[], debug: boolean): Map<number, string> {
  const pcrs = new Map<number, string>();
  for (const value of values) {
    const match = PCR_OPTION.exec(value);
    const index = Number(match?.[1]);
    if (match?.[2] === undefined || index > 15) throw new UsageError(`--pcr ${value}: expected N=HEX with N 0-15 and 96 hex digits`);
    if (pcrs.has(index)) throw new UsageError(`--pcr ${index} given twice`);
    if (debug && index <= 2) throw new UsageError(`--pcr ${index} conflicts with --debug (PCR0-2 are zero in debug mode)`);
    pcrs.set(index, match[2].toLowerCase());
  }
  return pcrs;
}

/** DER SubjectPublicKeyInfo from a PEM key (public or private: only the public part is kept) or DER SPKI. */
async function readPublicKey(path: string): Promise<Uint8Array> {
  const bytes = await readFile(path);
  const isPem = bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN');
  try {
    const key = isPem ? createPublicKey(bytes.toString('utf8')) : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
  } catch {
    throw new UsageError(`--public-key ${path}: not a PEM key or a DER SubjectPublicKeyInfo`);
  }
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit sim attest', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      state: { type: 'string' },
      'public-key': { type: 'string' },
      'user-data': { type: 'string' },
      nonce: { type: 'string' },
      pcr: { type: 'string', multiple: true },
      debug: { type: 'boolean' },
      bundle: { type: 'string' },
      'role-arn': { type: 'string' },
      'instance-id': { type: 'string' },
      out: { type: 'string' },
    });
    const dir = required(values.state, 'state');
    const debug = values.debug === true;
    const overrides = parsePcrOptions(values.pcr ?? [], debug);
    const userData = values['user-data'] === undefined ? undefined : hexOption(values['user-data'], 'user-data');
    const nonce = values.nonce === undefined ? undefined : hexOption(values.nonce, 'nonce');
    const instanceId = values['instance-id'] ?? randomInstanceId();
    if (!INSTANCE_ID.test(instanceId)) throw new UsageError('--instance-id must be i- and 8 or 17 hex digits');
    if (values.out === undefined && process.stdout.isTTY === true) {
      throw new UsageError('refusing to write a binary document to a terminal: use --out FILE or redirect stdout');
    }
    const publicKey = values['public-key'] === undefined ? undefined : await readPublicKey(values['public-key']);
    const appBundle = values.bundle === undefined ? new Uint8Array(0) : new Uint8Array(await readFile(values.bundle));

    const now = Date.now();
    const pki = await loadSimPki(dir, now);
    const measured = measureEnclave({ appBundle, roleArn: values['role-arn'], instanceId, debug });
    const pcrs: Record<number, string> = { ...measured };
    for (const [index, value] of overrides) pcrs[index] = value;
    const nsm = new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(now, instanceId), now: () => now });
    const document = await nsm.attest({ userData, nonce, publicKey });
    await nsm.close();

    if (values.out === undefined) {
      await new Promise<void>((resolve, reject) => process.stdout.write(document, (error) => (error ? reject(error) : resolve())));
    } else {
      await writeFile(values.out, document);
    }
    const shown = [0, 1, 2, 3, 4].map((index) => `PCR${index}=${pcrs[index] ?? ZERO_PCR_HEX}`);
    process.stderr.write(`enclavekit sim attest: ${document.length}-byte document for ${nsm.moduleId}\n  ${shown.join('\n  ')}\n`);
    return 0;
  });
}
