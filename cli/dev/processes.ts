/**
 * Child processes of the dev stack: one log line per event, readiness waits, the real cause when
 * a child dies, and orderly shutdown. Each child gets a stdin pipe the supervisor never writes and
 * ENCLAVEKIT_SUPERVISED=stdin, so it stops when the supervisor dies by any signal, SIGKILL
 * included (shared/lifecycle/supervised.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import readline from 'node:readline';
import { SUPERVISED_ENV } from '../../shared/lifecycle/supervised.js';
import { parseLogLine, type LogRecord } from '../../shared/log/format.js';

/** Lines (and at most this many bytes of output) kept per child to explain its exit. */
const TAIL_LINES = 20;
const TAIL_BYTES = 16 * 1024;

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** Why the child ended, from its last error line (or its last line), for the supervisor's report. */
  cause(): string | undefined;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Every line the child prints, as a record (the caller decides whether and how to show it). */
  onRecord?: (record: LogRecord) => void;
  /** Everything the child prints, as it arrives. */
  onOutput?: (text: string) => void;
  /**
   * Append the child's output to this file instead of piping it here (a benchmark must not bill
   * the draining of pipes to the stack); `onRecord`, `onOutput` and `cause` then see nothing.
   */
  logFile?: string;
}

export function startChild(name: string, command: string, args: string[], options: ChildOptions = {}): Child {
  const out = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'a');
  const child = spawn(command, args, { stdio: ['pipe', out, out], env: { ...(options.env ?? process.env), [SUPERVISED_ENV]: 'stdin' } });
  if (typeof out === 'number') closeSync(out);
  // The pipe is the child's lifeline: never written, closed by the kernel when we die.
  child.stdin?.on('error', () => undefined);
  // The last bytes only, parsed into lines when asked why the child ended; lines are split as they
  // come only for a caller that shows them, so a chatty child costs its reader little.
  let recent = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      options.onOutput?.(text);
      recent = (recent + text).slice(-TAIL_BYTES);
    });
    if (options.onRecord !== undefined) {
      const onRecord = options.onRecord;
      readline.createInterface({ input: stream }).on('line', (line) => {
        if (line.trim() !== '') onRecord(parseLogLine(line, name));
      });
    }
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cause = (): string | undefined => {
    const records = recent.split('\n').filter((line) => line.trim() !== '').slice(-TAIL_LINES).map((line) => parseLogLine(line, name));
    const last = [...records].reverse().find((r) => r.level === 'error') ?? records.at(-1);
    if (last === undefined) return undefined;
    const code = typeof last.fields.code === 'string' ? `${last.fields.code}: ` : '';
    const message = typeof last.fields.message === 'string' ? last.fields.message : typeof last.fields.reason === 'string' ? last.fields.reason : '';
    return `${last.msg}${code || message ? ` (${code}${message})` : ''}`.slice(0, 400);
  };
  return { name, process: child, exited, cause };
}

/**
 * Polls `check` every `intervalMs` until it returns a value, one of `children` dies (then the
 * error reports that child's cause), or `timeoutMs` passes.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  children: Child | readonly Child[] = [],
  intervalMs = 50,
): Promise<T> {
  const watched = Array.isArray(children) ? (children as readonly Child[]) : [children as Child];
  let dead: Child | undefined;
  for (const child of watched) void child.exited.then(() => (dead ??= child));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (dead !== undefined) throw new Error(exitReport(dead));
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `enclave exited (code 1): fatal (ERR_NSM_UNAVAILABLE: …)`. */
export function exitReport(child: Child): string {
  const { exitCode, signalCode } = child.process;
  const how = signalCode !== null ? `signal ${signalCode}` : `code ${String(exitCode)}`;
  const cause = child.cause();
  return `${child.name} exited (${how})${cause === undefined ? '' : `: ${cause}`}`;
}

export function fileExists(file: string): true | undefined {
  return existsSync(file) ? true : undefined;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: Child, graceMs = 5_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops `child` (if any): SIGTERM with a grace period, or another signal and wait. */
export async function stopWith(child: Child | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child === undefined) return;
  if (signal === 'SIGTERM') return stopChild(child);
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(signal);
  await child.exited;
}
