/**
 * Structured JSON-lines logging for the parent. Only fields the caller names are written, and
 * callers never pass payloads: request bodies, sealed data and documents stay out of logs by
 * construction (the e2e tests read every line to prove it).
 *
 * Lines logged in one iteration of the event loop leave together at its end (setImmediate), one
 * write to stdout and one to the file. Every API request logs a line, and written one by one they
 * were most of the parent's system calls (bench tokenize under strace: per request one
 * synchronous write to stdout and one file write handed to libuv's thread pool, with ~3 futex
 * calls and an eventfd write for the hand-over and its completion, and a thread to wake on a
 * 2-core host). The file is written synchronously, as stdout already is (Node docs, "A note on
 * process I/O"): one append of a few lines to the page cache per iteration costs less than the
 * hand-over. It is opened O_APPEND, so logrotate's copytruncate (deploy/logrotate) keeps working.
 * A failed file write (disk full) drops those lines from the file only: stdout still has them,
 * and the API keeps serving. Lines still pending when the process exits are written then.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

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
  /** Where lines go besides the file, one call per line, at once; default stdout, batched. */
  write?: (line: string) => void;
  component?: string;
  now?: () => number;
}

/** Loggers with lines waiting for the end of the iteration: flushed by one 'exit' listener. */
const unflushed = new Set<() => void>();
let exitHooked = false;

function flushAllOnExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // 'exit' runs synchronously, also after an uncaught exception; stdout to a file or a pipe is
  // written synchronously on Linux (Node docs, "A note on process I/O").
  process.once('exit', () => {
    for (const flush of unflushed) flush();
  });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const direct = options.write;
  let fd: number | undefined = options.file === undefined ? undefined : openSync(options.file, 'a', 0o600);
  const now = options.now ?? Date.now;
  const component = options.component ?? 'parent';
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    unflushed.delete(flush);
    if (pending === '') return;
    const text = pending;
    pending = '';
    if (direct === undefined) process.stdout.write(text);
    if (fd === undefined) return;
    try {
      writeSync(fd, text);
    } catch {
      // Disk full or gone: see the module comment.
    }
  };
  const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const line = `${JSON.stringify({ ts: new Date(now()).toISOString(), level, component, msg, ...fields })}\n`;
    direct?.(line);
    if (direct !== undefined && fd === undefined) return;
    pending += line;
    if (!scheduled) {
      scheduled = true;
      unflushed.add(flush);
      flushAllOnExit();
      setImmediate(flush);
    }
  };
  return {
    log,
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    close: async () => {
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
