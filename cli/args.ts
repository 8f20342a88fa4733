/**
 * The one argument convention of every `enclavekit` command and subcommand: node:util parseArgs
 * in strict mode (unknown options are usage errors), `--help`/`-h` printing the usage on stdout
 * with exit 0, one usage error, and one mapping from failures to exit codes: 0 ok, 1 failed or
 * invalid, 2 usage (docs/conventions.md item 13).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EnclaveKitError } from '../shared/errors.js';

/** A mistake in how the command was called: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs in strict mode, with its errors turned into UsageError. */
export function parseOptions<const O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The value of a required string option. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Bytes from a hex option (even length, hex digits only; empty is allowed). */
export function hexOption(value: string, name: string): Uint8Array {
  if (value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) throw new UsageError(`--${name} must be hex (an even number of 0-9a-f digits)`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

/**
 * Runs a subcommand body. UsageError → usage on stderr, 2. EnclaveKitError → its code and message
 * (never secrets, by the error family's rule), 1; a file system error → its path and errno, 1.
 * Anything else propagates: a bug, not a result.
 */
export async function runCli(prefix: string, usage: string, args: string[], body: () => Promise<number>): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${prefix}: ${error.message}\n${usage}`);
      return 2;
    }
    if (error instanceof EnclaveKitError) {
      process.stderr.write(`${prefix}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    const errno = error as NodeJS.ErrnoException;
    if (typeof errno.code === 'string' && typeof errno.path === 'string') {
      process.stderr.write(`${prefix}: ${errno.path}: ${errno.code}\n`);
      return 1;
    }
    throw error;
  }
}

/** `--help` or `-h` anywhere before a `--` ends the options. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}
