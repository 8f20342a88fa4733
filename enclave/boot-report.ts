/**
 * What the enclave knows about its own boot, kept where the parent can read it. A production
 * enclave's console is unreadable outside debug mode, so its boot events and a fatal error are
 * worth something only if they leave through the link: the link listener opens first, its
 * `status` answer carries this report's summary, and the events wait (bounded) in an outbox until
 * a parent connects. Nothing here may hold a secret: events carry codes, counts and names only.
 */
import { EnclaveKitError } from '../shared/errors.js';

export type BootOutcome = 'booting' | 'ready' | 'failed';
export type EventLevel = 'debug' | 'info' | 'warn' | 'error';
export type EventFields = Record<string, string | number | boolean | undefined>;

export interface BootEvent {
  event: string;
  level: EventLevel;
  fields: EventFields;
}

/** Events kept for a parent that has not connected yet; older ones are dropped first (and counted). */
export const MAX_UNDELIVERED_EVENTS = 128;
/** Longest failure message kept. */
const MAX_REASON_CHARS = 300;

export class BootReport {
  #outcome: BootOutcome = 'booting';
  #code: string | undefined;
  #message: string | undefined;
  readonly #outbox: BootEvent[] = [];
  #dropped = 0;

  get outcome(): BootOutcome {
    return this.#outcome;
  }

  /** For `status`: `{outcome}` and, after a failure, the error code and message. */
  summary(): { outcome: BootOutcome; code?: string; message?: string } {
    return { outcome: this.#outcome, ...(this.#code === undefined ? {} : { code: this.#code }), ...(this.#message === undefined ? {} : { message: this.#message }) };
  }

  /** The not-ready reason while booting or after a failed boot. */
  reason(): string {
    return this.#outcome === 'failed' ? `boot failed: ${this.#code ?? 'ERR_INTERNAL'}: ${this.#message ?? ''}` : 'enclave booting';
  }

  ready(): void {
    this.#outcome = 'ready';
  }

  /**
   * Records a fatal boot error. Only an EnclaveKitError's code and message are kept (they carry no
   * secrets by convention); anything else becomes ERR_INTERNAL, its detail stays local.
   */
  fail(error: unknown): { code: string; message: string } {
    this.#outcome = 'failed';
    this.#code = error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL';
    this.#message = (error instanceof EnclaveKitError ? error.message : 'unexpected error during boot (details on the enclave console)').slice(0, MAX_REASON_CHARS);
    return { code: this.#code, message: this.#message };
  }

  /** Keeps an event that no parent has received yet. */
  hold(event: BootEvent): void {
    this.#outbox.push(event);
    if (this.#outbox.length > MAX_UNDELIVERED_EVENTS) {
      this.#outbox.shift();
      this.#dropped += 1;
    }
  }

  /** The held events, oldest first, emptying the outbox. */
  takeHeld(): BootEvent[] {
    return this.#outbox.splice(0);
  }

  /** Events dropped because the outbox was full. */
  get dropped(): number {
    return this.#dropped;
  }
}
