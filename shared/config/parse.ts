/**
 * Config parsing the fastify/enclaver way (docs/conventions.md item 8): a pure `parse(raw)` that rejects
 * unknown keys, applies documented defaults, and returns a deeply frozen object; loaders stay thin.
 * Every failure is ERR_CONFIG with a message that says what to fix: the file, and whether it is
 * missing, unreadable, not JSON, or which field breaks which rule (docs/config.md).
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { EnclaveKitError, ServiceError } from '../errors.js';
import { describeIssue } from '../validation.js';

export function parseConfigWith<S extends z.ZodType>(schema: S, raw: unknown, what: string): Readonly<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    const rule = first === undefined ? '(root): invalid' : describeIssue(first, { nameUnknownKeys: true, root: '(root)' });
    throw new ServiceError('ERR_CONFIG', `${what}: ${rule}`, { cause: result.error });
  }
  return deepFreeze(result.data);
}

/** The bytes of a config file; a missing or unreadable file is ERR_CONFIG naming the file and the reason. */
function readConfigBytes(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'I/O error'})`;
    throw new ServiceError('ERR_CONFIG', `${what} ${file}: ${reason}`, { cause: error });
  }
}

/**
 * JSON from config file bytes. A syntax error reports the line and column only: the parser's own
 * message quotes the text around the error, which may be a token or a key.
 */
function parseJsonBytes(bytes: Buffer, file: string, what: string): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ServiceError('ERR_CONFIG', `${what} ${file}: not valid JSON${position === undefined ? '' : ` (${lineColumn(text, Number(position))})`}`, {
      cause: error,
    });
  }
}

/**
 * Reads, parses and checks a config file with `parse` (one of the `parse…Config` functions, whose
 * messages start with `${what}: `; a field error then names the file too). The bytes are returned
 * as read, for callers that measure them.
 */
export function loadConfigFile<T>(file: string, what: string, parse: (raw: unknown) => T): { config: T; bytes: Buffer } {
  const bytes = readConfigBytes(file, what);
  const raw = parseJsonBytes(bytes, file, what);
  try {
    return { config: parse(raw), bytes };
  } catch (error) {
    if (error instanceof EnclaveKitError && error.code === 'ERR_CONFIG' && error.message.startsWith(`${what}: `)) {
      throw new ServiceError('ERR_CONFIG', `${what} ${file}: ${error.message.slice(what.length + 2)}`, { cause: error.cause });
    }
    throw error;
  }
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
