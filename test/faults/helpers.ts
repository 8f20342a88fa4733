/**
 * Shared pieces of the fault-injection tests: typed-error checks on HTTP
 * answers, KMS call counting, process liveness and resident memory of the stack's processes.
 *
 * Two ways of counting KMS calls, because they count different things:
 * - `kmsCallEvents`: the enclave's own `kms-call` log events (enclave/runtime.ts), one per logical
 *   call after the SDK's retries (what the data-key cache and single-flight bound);
 * - `KmsRequestCounter`: every HTTP request the in-process KMS simulator receives, retries
 *   included (the SDK's attempts), seen through Node's `http.server.request.start` diagnostics
 *   channel. The enclave's TLS ends at the simulator, so the taps only see ciphertext.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../shared/errors.js';
import type { Stack } from '../e2e/stack.js';

export interface ApiAnswer {
  status: number;
  // Parsed JSON of any shape, as Stack.api returns it; the helpers below check its shape.
  json: any;
}

/** Asserts the contracted error shape: `{error: {code, message}}`, a known code, its own status. */
export function expectTypedError(res: ApiAnswer, codes?: readonly string[]): string {
  expect(typeof res.json, `status ${res.status}: body is not JSON`).toBe('object');
  expect(Object.keys(res.json ?? {})).toEqual(['error']);
  const { code, message } = res.json.error as { code: unknown; message: unknown };
  expect(isErrorCode(code), `unknown error code ${String(code)}`).toBe(true);
  expect(typeof message).toBe('string');
  expect(res.status).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
  if (codes !== undefined) expect(codes).toContain(code);
  return code as string;
}

export const TOKENIZE = '/v1/cards/tokenize';

/** POST /v1/cards/tokenize with one ESDK-sealed card; `timeoutMs` bounds the whole exchange. */
export function tokenizeEsdk(stack: Stack, sealed: string, timeoutMs = 45_000): Promise<ApiAnswer> {
  return stack.api(TOKENIZE, { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }), signal: AbortSignal.timeout(timeoutMs) });
}

/** The enclave's `kms-call` events so far (one per logical call, after SDK retries). */
export function kmsCallEvents(stack: Stack, operation?: string): { operation: string; outcome: string }[] {
  const events: { operation: string; outcome: string }[] = [];
  for (const line of stack.enclaveOutput().split('\n')) {
    if (!line.includes('"kms-call"')) continue;
    try {
      const e = JSON.parse(line) as { event?: unknown; operation?: unknown; outcome?: unknown };
      if (e.event === 'kms-call' && (operation === undefined || e.operation === operation)) {
        events.push({ operation: String(e.operation), outcome: String(e.outcome) });
      }
    } catch {
      // Not one of the enclave's JSON lines (e.g. the simulator banner).
    }
  }
  return events;
}

/**
 * Counts the HTTP requests the in-process KMS simulator receives, by operation, for one access
 * key id (the SigV4 `Credential=` of the Authorization header), every retry included.
 */
export class KmsRequestCounter {
  readonly #counts = new Map<string, number>();
  readonly #accessKeyId: string;
  readonly #listener = (message: unknown): void => {
    const req = (message as { request?: IncomingMessage }).request;
    if (req === undefined) return;
    const target = req.headers['x-amz-target'];
    const auth = req.headers.authorization ?? '';
    if (typeof target !== 'string' || !auth.includes(`Credential=${this.#accessKeyId}/`)) return;
    const op = target.slice(target.indexOf('.') + 1);
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
  };

  constructor(accessKeyId: string) {
    this.#accessKeyId = accessKeyId;
    diagnostics.subscribe('http.server.request.start', this.#listener);
  }

  count(operation: string): number {
    return this.#counts.get(operation) ?? 0;
  }

  close(): void {
    diagnostics.unsubscribe('http.server.request.start', this.#listener);
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent's pid (the current parent process, after any restart). */
export function parentPid(stack: Stack): number {
  const pid = stack.parent().pid;
  if (pid === undefined) throw new Error('parent process not started');
  return pid;
}

/** Resident set size of a process, bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Test cards: distinct PANs, each with its brand's CVC length. */
export const CARDS = [
  { pan: '4111111111111111', exp: '12/39', cvc: '123' },
  { pan: '5555555555554444', exp: '01/38', cvc: '456' },
  { pan: '378282246310005', exp: '06/37', cvc: '1234' },
  { pan: '6011111111111117', exp: '09/36', cvc: '789' },
] as const;

