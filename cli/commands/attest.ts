/**
 * `enclavekit attest verify FILE [--at document|now|MS] [--root PEM_FILE]... [--pcr N=HEX]...
 *  [--any-pcrs] [--allow-debug] [--nitrotpm] [--nonce HEX] [--json]`
 *
 * The I/O shell around shared/attestation's verifyAttestation: reads the document (binary CBOR,
 * base64 text, or stdin with `-`), the roots and the clock, and maps the verdict to exit codes that
 * scripts rely on: 0 valid, 1 invalid (stderr: `CODE: message`), 2 usage.
 */
import { open, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AttestationError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { pemCertificates, verifyAttestation, type VerifiedAttestation, type VerifyOptions } from '../../shared/attestation/index.js';

export const USAGE = `usage: enclavekit attest verify FILE [--at document|now|MS] [--root PEM_FILE]...
         [--pcr N=HEX]... [--any-pcrs] [--allow-debug] [--nitrotpm] [--nonce HEX] [--json]

Verifies a Nitro Enclaves attestation document: COSE_Sign1 ES384 signature, certificate chain to
the pinned root (default: AWS Nitro Enclaves Root-G1), validity of every certificate at --at, and
the expected PCRs. Exit 0 valid, 1 invalid (the error code and message on stderr), 2 usage.
  FILE                 binary CBOR, base64 text, or - for stdin
  --at WHEN            verification time: now (default), document (its own timestamp), or ms since the epoch
  --root PEM_FILE      trust anchor, replacing the default (repeatable; a file may hold several)
  --pcr N=HEX          expected PCR N (0..31), 48 bytes as hex (repeatable)
  --any-pcrs           accept any PCR values (required when no --pcr is given)
  --allow-debug        accept debug-mode documents (PCR0-2 all zero)
  --nitrotpm           also accept NitroTPM documents (EC2 instances, not enclaves); --pcr then names TPM PCRs 0..23
  --nonce HEX          expected nonce
  --json               print {"valid": …} as JSON on stdout
`;

/** A bad invocation: exit 2 with the usage text. */
export class UsageError extends Error {}

export interface VerifyCommand {
  file: string;
  at: 'document' | 'now' | number;
  rootFiles: string[];
  pcrs: Record<number, string>;
  anyPcrs: boolean;
  allowDebug: boolean;
  nitroTpm: boolean;
  nonce: Uint8Array | undefined;
  json: boolean;
}

/** base64 grows input by 4/3, plus line breaks: a generous cap on what is read before decoding. */
const INPUT_MAX_BYTES = 2 * LIMITS.attestationDocumentMaxBytes + 4096;

export function parseVerifyArgs(args: string[]): VerifyCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        at: { type: 'string' },
        root: { type: 'string', multiple: true },
        pcr: { type: 'string', multiple: true },
        'any-pcrs': { type: 'boolean' },
        'allow-debug': { type: 'boolean' },
        nitrotpm: { type: 'boolean' },
        nonce: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'FILE is required' : 'exactly one FILE is expected');

  let at: VerifyCommand['at'] = 'now';
  if (values.at !== undefined) {
    if (values.at === 'now' || values.at === 'document') at = values.at;
    else if (/^\d{1,16}$/.test(values.at) && Number.isSafeInteger(Number(values.at))) at = Number(values.at);
    else throw new UsageError(`--at ${values.at}: expected document, now or ms since the epoch`);
  }

  const pcrs: Record<number, string> = {};
  for (const spec of values.pcr ?? []) {
    const match = /^(\d{1,2})=((?:[0-9a-fA-F]{2}){48})$/.exec(spec);
    const index = Number(match?.[1]);
    if (match === null || index >= LIMITS.pcrCount) throw new UsageError(`--pcr ${spec}: expected N=HEX with N in 0..31 and 48 bytes of hex`);
    if (index in pcrs) throw new UsageError(`--pcr ${index} is given twice`);
    pcrs[index] = (match[2] as string).toLowerCase();
  }
  const anyPcrs = values['any-pcrs'] === true;
  if (Object.keys(pcrs).length === 0 && !anyPcrs) {
    throw new UsageError('no expected PCRs: pass --pcr N=HEX, or --any-pcrs to accept any measurement (ERR_ATTESTATION_POLICY)');
  }

  let nonce: Uint8Array | undefined;
  if (values.nonce !== undefined) {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(values.nonce)) throw new UsageError('--nonce: expected hex');
    nonce = new Uint8Array(Buffer.from(values.nonce, 'hex'));
  }
  return {
    file: positionals[0] as string,
    at,
    rootFiles: values.root ?? [],
    pcrs,
    anyPcrs,
    allowDebug: values['allow-debug'] === true,
    nitroTpm: values.nitrotpm === true,
    nonce,
    json: values.json === true,
  };
}

/**
 * Binary COSE_Sign1 starts with 0x84 (untagged) or 0xd2 (tag 18), docs/formats.md section 0 item 2;
 * anything else is read as base64 (standard or URL-safe, line breaks allowed). Bytes that are
 * neither go to the verifier unchanged, which names what is wrong with them.
 */
export function decodeDocumentInput(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return bytes;
  const text = Buffer.from(bytes).toString('latin1').replace(/\s+/g, '');
  if (text.length > 0 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return new Uint8Array(Buffer.from(text, 'base64'));
  return bytes;
}

/** Reads at most INPUT_MAX_BYTES + 1 bytes: enough for the verifier to report an oversized input. */
async function readInput(file: string): Promise<Uint8Array> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > INPUT_MAX_BYTES) break;
    }
    return new Uint8Array(Buffer.concat(chunks)).subarray(0, INPUT_MAX_BYTES + 1);
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const buffer = Buffer.alloc(INPUT_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
    }
    return new Uint8Array(buffer.subarray(0, length));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    await handle.close();
  }
}

async function readRoots(files: string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (file) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read --root ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (pemCertificates(text).length === 0) throw new UsageError(`--root ${file} holds no PEM certificate`);
      return text;
    }),
  );
}

const hexOrNull = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes).toString('hex'));

export function resultJson(result: VerifiedAttestation): Record<string, unknown> {
  const pcrs: Record<string, string> = {};
  for (const [index, value] of Object.entries(result.pcrs)) pcrs[index] = value;
  return {
    valid: true,
    kind: result.kind,
    moduleId: result.moduleId,
    timestamp: result.timestamp,
    pcrs,
    publicKey: hexOrNull(result.publicKey),
    userData: hexOrNull(result.userData),
    nonce: hexOrNull(result.nonce),
  };
}

function resultText(result: VerifiedAttestation): string {
  const lines = [
    'valid',
    ...(result.kind === 'nitrotpm' ? ['kind        NitroTPM (an EC2 instance, not an enclave)'] : []),
    `module_id   ${result.moduleId}`,
    `timestamp   ${result.timestamp} (${new Date(result.timestamp).toISOString()})`,
    `digest      ${result.digest}`,
    ...Object.entries(result.pcrs).map(([index, value]) => `${`PCR${index}`.padEnd(11)} ${value}`),
    `public_key  ${hexOrNull(result.publicKey) ?? '(none)'}`,
    `user_data   ${hexOrNull(result.userData) ?? '(none)'}`,
    `nonce       ${hexOrNull(result.nonce) ?? '(none)'}`,
    ...result.certificates.map((c, i) => `${i === 0 ? 'chain' : ''}`.padEnd(12) + `${c.subject} (${new Date(c.notBefore).toISOString()} .. ${new Date(c.notAfter).toISOString()})`),
  ];
  return `${lines.join('\n')}\n`;
}

async function verifyCommand(args: string[]): Promise<number> {
  const command = parseVerifyArgs(args);
  const roots = await readRoots(command.rootFiles);
  const doc = decodeDocumentInput(await readInput(command.file));
  const options: VerifyOptions = {
    at: command.at === 'now' ? Date.now() : command.at,
    anyPcrs: command.anyPcrs,
    allowDebug: command.allowDebug,
    ...(command.nitroTpm ? { nitroTpm: true } : {}),
    ...(Object.keys(command.pcrs).length > 0 ? { expectedPcrs: command.pcrs } : {}),
    ...(roots.length > 0 ? { roots } : {}),
    ...(command.nonce === undefined ? {} : { nonce: command.nonce }),
  };
  let result: VerifiedAttestation;
  try {
    result = verifyAttestation(doc, options);
  } catch (error) {
    if (error instanceof AttestationError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      if (command.json) process.stdout.write(`${JSON.stringify({ valid: false, error: { code: error.code, message: error.message } })}\n`);
      return 1;
    }
    // Roots that are PEM but not a usable P-384 certificate surface here as a TypeError.
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(command.json ? `${JSON.stringify(resultJson(result))}\n` : resultText(result));
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'verify') {
    process.stderr.write(`enclavekit attest: ${sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`}\n${USAGE}`);
    return 2;
  }
  try {
    return await verifyCommand(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`enclavekit attest verify: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
