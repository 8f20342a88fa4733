/**
 * Structured JSON-lines logging for the parent. Only fields the caller names are written, and
 * callers never pass payloads: request bodies, sealed data and documents stay out of logs by
 * construction (the e2e tests read every line to prove it).
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  /** Also append lines to this file (dev: `.enclavekit/parent.log`). */
  file?: string | undefined;
  /** Where lines go besides the file; default stdout. */
  write?: (line: string) => void;
  component?: string;
  now?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const file: WriteStream | undefined = options.file === undefined ? undefined : createWriteStream(options.file, { flags: 'a', mode: 0o600 });
  const now = options.now ?? Date.now;
  const component = options.component ?? 'parent';
  const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const line = `${JSON.stringify({ ts: new Date(now()).toISOString(), level, component, msg, ...fields })}\n`;
    write(line);
    file?.write(line);
  };
  return {
    log,
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    close: () => new Promise<void>((resolve) => (file === undefined ? resolve() : file.end(() => resolve()))),
  };
}
