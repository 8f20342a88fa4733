/**
 * The enclave's worker pool: the built-in operations' CPU work (opening sealed inputs: HPKE with
 * X25519, the ESDK's AES-GCM/HKDF and header, kmsRsa's AES-CTR/HMAC; then FF1 tokens, blind
 * indexes, redaction) on node:worker_threads, so every vCPU of the enclave does some
 * (docs/architecture.md "Worker pool").
 *
 * What stays on the main thread: the link to the parent, the attested KMS client and its data-key
 * cache (one KMS Decrypt per data key whichever worker asks first; workers ask with `kms-decrypt`
 * and get a copy), the public-submission rate limiter (a worker asks with `rate-take` after opening
 * an anonymous card and before tokenizing it: enclave/app/builtin-work.ts) and custom handlers.
 *
 * Keys reach a worker as fresh copies whose buffers are transferred (the main thread keeps none):
 * the HPKE private key and the loaded keys at start, the loaded keys again on every `keys.load`.
 * Workers zero them when they are replaced and on close, then exit.
 *
 * A worker that dies (an internal bug, an OpenSSL abort) is replaced; its in-flight tasks fail with
 * ERR_INTERNAL (500) at once, never hang. Bad input never kills one: every item settles to a typed
 * outcome inside the worker. A slot whose workers keep dying before they are ready is retried with
 * a growing pause while another slot serves; once every slot has failed MAX_START_FAILURES times
 * in a row (a broken build or runtime, not a passing fault) none is started again: the pool
 * reports it through `onFatal`, and the enclave exits with one `fatal` line rather than stay up
 * answering every card with an error (enclave/run.ts).
 *
 * The worker's script is the program that is running (dist/enclave.js in the image; runEnclave in
 * enclave/run.ts becomes a pool worker when it is not on the main thread), so the image and what
 * its PCRs measure keep one file. From TypeScript sources (tests, `npm run bench`), the worker
 * loads enclave/main.ts through tsx.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ServiceError, toEnclaveKitError } from '../../shared/errors.js';
import type { BuiltinTask, ItemOutcome } from '../app/builtin-work.js';
import type { EnclaveConfig } from '../config.js';
import type { KeyRing } from '../key-ring.js';
import type { AttestedKms } from '../kms/attested-kms.js';
import { packInputs } from './packed-inputs.js';
import {
  WORKER_MARK,
  outcomeFromWire,
  wireError,
  type FromWorker,
  type KmsDecryptRequest,
  type ToWorker,
  type WorkerCloseReport,
  type WorkerInit,
  type WireError,
} from './protocol.js';

/** Most workers: Nitro enclaves are given 2-16 vCPUs in practice; more threads than that only add memory. */
export const MAX_WORKERS = 16;

/** The `workers` setting: as given, else one per vCPU the enclave was given, at most MAX_WORKERS. */
export function workerCount(config: Pick<EnclaveConfig, 'workers'>): number {
  return config.workers ?? Math.min(availableParallelism(), MAX_WORKERS);
}

export interface WorkerPoolOptions {
  size: number;
  cards: NonNullable<EnclaveConfig['cards']>;
  /** A fresh copy of the enclave's raw HPKE private key (transferred to the new worker). */
  hpkePrivateKey: () => Uint8Array;
  /** Fresh copies of the long-lived keys loaded so far (transferred to the workers). */
  loadedKeys: () => Map<string, Uint8Array>;
  /** The main thread's attested, cached KMS Decrypt; the answer's Plaintext is the caller's to zero. */
  decrypt: (input: KmsDecryptRequest) => Promise<{ KeyId?: string | undefined; Plaintext: Uint8Array }>;
  log?: (event: string, fields: Record<string, string | number | boolean>, level: 'info' | 'warn' | 'error') => void;
  /** Called once when workers cannot be started (see MAX_START_FAILURES); the pool stops replacing them. */
  onFatal?: (error: ServiceError) => void;
  /**
   * First pause before replacing a worker that died before it was ready, doubled with each such
   * failure in a row in that slot up to 60 s, ms (default RESPAWN_DELAY_MS; tests shorten it).
   */
  respawnDelayMs?: number;
  /** How long a new worker may take to be ready before it is stopped as a failed start, ms (default START_TIMEOUT_MS). */
  startTimeoutMs?: number;
}

interface Pending {
  resolve: (outcomes: ItemOutcome[]) => void;
  reject: (error: unknown) => void;
  items: number;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Settles when the worker is ready or has exited. */
  started: Promise<void>;
  markStarted: () => void;
  /** Items in flight on this worker: where the next task goes. */
  load: number;
  pending: Map<number, Pending>;
  /** Tasks posted in this event-loop turn, sent together when it ends (flushTasks). */
  outbox: { id: number; task: BuiltinTask }[];
  closed?: (report: WorkerCloseReport) => void;
}

/**
 * The pool for an enclave's services, as the runtime makes it: the workers get copies of the HPKE
 * key and the loaded keys, and ask `services.kms` (attested, cached) for data keys.
 */
export function poolForServices(
  services: { identity: { hpke: { exportPrivateKey(): Uint8Array } }; kms: Pick<AttestedKms, 'decrypt'>; keys: Pick<KeyRing, 'copies'> },
  cards: NonNullable<EnclaveConfig['cards']>,
  size: number,
  log?: WorkerPoolOptions['log'],
  onFatal?: WorkerPoolOptions['onFatal'],
): WorkerPool {
  return new WorkerPool({
    size,
    cards,
    hpkePrivateKey: () => services.identity.hpke.exportPrivateKey(),
    loadedKeys: () => services.keys.copies(),
    decrypt: (input) => services.kms.decrypt(input),
    ...(log === undefined ? {} : { log }),
    ...(onFatal === undefined ? {} : { onFatal }),
  });
}

/** After a worker dies before it was ready, its replacement waits this long (a crash loop stays cheap), ms. */
const RESPAWN_DELAY_MS = 1_000;
/** Workers dying before ready, in a row in one slot: once every slot has this many, none is started again. */
export const MAX_START_FAILURES = 3;
/** The longest pause before a slot that keeps failing tries again, ms. */
const RESPAWN_DELAY_MAX_MS = 60_000;
/** A worker not ready this long after it was spawned is stopped and counted as a failed start, ms. */
const START_TIMEOUT_MS = 30_000;
/** How long close() lets a worker zero its keys and report before terminating it, ms. */
const CLOSE_GRACE_MS = 5_000;

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: (Slot | undefined)[];
  #nextTaskId = 0;
  #started = false;
  #closing = false;
  #restarts = 0;
  /** Per slot: workers that exited before they were ready since that slot's last ready one. */
  readonly #startFailures: number[];
  #failed = false;
  #takeRate: (bucketKey: string) => void = () => {
    throw new ServiceError('ERR_NOT_READY', 'the worker pool has no rate limiter');
  };

  constructor(options: WorkerPoolOptions) {
    if (!Number.isSafeInteger(options.size) || options.size < 1 || options.size > MAX_WORKERS) {
      throw new RangeError(`worker pool size must be 1..${MAX_WORKERS}`);
    }
    this.#options = options;
    this.#slots = new Array<Slot | undefined>(options.size).fill(undefined);
    this.#startFailures = new Array<number>(options.size).fill(0);
  }

  get size(): number {
    return this.#options.size;
  }

  /**
   * Starts the workers (idempotent); tasks posted before a worker is ready wait in its queue.
   * `takeRate` takes an anonymous card's bucket in the main thread's limiter (throws when empty).
   */
  start(hooks: { takeRate: (bucketKey: string) => void }): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.#takeRate = hooks.takeRate;
    for (let index = 0; index < this.#slots.length; index++) this.#trySpawn(index);
    this.#options.log?.('worker-pool-started', { size: this.#slots.length }, 'info');
  }

  /** Resolves when every worker started so far is ready (or has exited): benchmarks, tests. */
  async whenReady(): Promise<void> {
    await Promise.all(this.#liveSlots().map((slot) => slot.started));
  }

  /** The live worker threads (supervision and tests). */
  threads(): Worker[] {
    return this.#slots.flatMap((slot) => (slot === undefined ? [] : [slot.worker]));
  }

  /**
   * Whether tasks posted now will be run: a worker is ready, or one is starting that has not failed
   * to start before (at boot, or in place of a ready one that died; tasks wait in its queue). Not
   * while every live slot is retrying after failed starts.
   */
  canServe(): boolean {
    return this.#slots.some((slot) => slot !== undefined && (slot.ready || this.#startFailures[slot.index] === 0));
  }

  /** Threads configured, alive (`live`, starting ones included), ready for tasks, replaced after dying; items in flight. */
  stats(): { size: number; live: number; ready: number; restarts: number; inFlightItems: number } {
    const live = this.#slots.filter((slot) => slot !== undefined);
    return {
      size: this.#slots.length,
      live: live.length,
      ready: live.filter((slot) => slot.ready).length,
      restarts: this.#restarts,
      inFlightItems: live.reduce((n, slot) => n + slot.load, 0),
    };
  }

  /**
   * Runs a task; a task of several items is shared out over the workers in contiguous parts, so a
   * batch uses every vCPU. Outcomes come back in item order.
   */
  async run(task: BuiltinTask): Promise<ItemOutcome[]> {
    const live = this.#liveSlots();
    const parts = Math.min(live.length, task.items.length);
    if (parts <= 1) return this.#post(task);
    const share = Math.ceil(task.items.length / parts);
    const pieces: BuiltinTask[] = [];
    for (let start = 0; start < task.items.length; start += share) pieces.push({ ...task, items: task.items.slice(start, start + share) });
    return (await Promise.all(pieces.map((piece) => this.#post(piece)))).flat();
  }

  /** Sends copies of the currently loaded keys to every worker (after `keys.load`). */
  loadKeys(): void {
    for (const slot of this.#slots) if (slot !== undefined) this.#sendKeys(slot.worker);
  }

  /**
   * Asks every worker to zero its keys and exit; resolves when all have exited, with each worker's
   * report (a worker that does not answer within CLOSE_GRACE_MS is terminated and reports nothing).
   */
  async close(): Promise<WorkerCloseReport[]> {
    this.#closing = true;
    const reports: WorkerCloseReport[] = [];
    await Promise.all(
      this.#slots.map(async (slot) => {
        if (slot === undefined) return;
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        const report = new Promise<WorkerCloseReport | undefined>((resolve) => {
          slot.closed = resolve;
          const timer = setTimeout(() => resolve(undefined), CLOSE_GRACE_MS);
          timer.unref();
        });
        this.#send(slot.worker, { type: 'close' });
        const answer = await report;
        if (answer !== undefined) reports.push(answer);
        await slot.worker.terminate();
        await exited;
      }),
    );
    return reports;
  }

  #liveSlots(): Slot[] {
    return this.#slots.filter((slot): slot is Slot => slot !== undefined);
  }

  #post(task: BuiltinTask): Promise<ItemOutcome[]> {
    if (this.#closing) return Promise.reject(new ServiceError('ERR_NOT_READY', 'the enclave is shutting down'));
    const live = this.#liveSlots();
    if (live.length === 0) return Promise.reject(new ServiceError('ERR_NOT_READY', 'no enclave worker is running'));
    // Least loaded first; ready workers before ones still starting.
    const slot = live.reduce((best, s) => (Number(s.ready) > Number(best.ready) || (s.ready === best.ready && s.load < best.load) ? s : best));
    const id = this.#nextTaskId++;
    return new Promise<ItemOutcome[]>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, items: task.items.length });
      slot.load += task.items.length;
      // Sent when this turn's microtasks have run: the requests that one reply released (often
      // dozens of single cards) go to the worker in one message.
      if (slot.outbox.push({ id, task }) === 1) process.nextTick(() => this.#flushTasks(slot));
    });
  }

  #flushTasks(slot: Slot): void {
    const outbox = slot.outbox;
    slot.outbox = [];
    // A worker that exited meanwhile has had these tasks failed already (#onExit).
    if (!this.#slots.includes(slot)) return;
    const inputs = packInputs(outbox.flatMap(({ task }) => task.items));
    const tasks = outbox.map(({ id, task }) => ({ id, task: { ...task, items: [] }, items: task.items.length }));
    this.#send(slot.worker, { type: 'tasks', tasks, inputs }, [inputs.buffer]);
  }

  #spawn(index: number): void {
    const script = workerScript();
    const keys = [...this.#options.loadedKeys()];
    const hpkePrivateKey = this.#options.hpkePrivateKey();
    const init: WorkerInit = { mark: WORKER_MARK, cards: this.#options.cards, hpkePrivateKey, keys };
    const transfer = [hpkePrivateKey.buffer as ArrayBuffer, ...keys.map(([, key]) => key.buffer as ArrayBuffer)];
    let worker: Worker;
    try {
      worker = new Worker(script.url, { eval: script.eval, argv: script.argv, workerData: init, transferList: transfer, execArgv: [], stdout: false, stderr: false });
    } catch (error) {
      hpkePrivateKey.fill(0);
      for (const [, key] of keys) key.fill(0);
      throw error;
    }
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const slot: Slot = { index, worker, ready: false, started, markStarted, load: 0, pending: new Map(), outbox: [] };
    this.#slots[index] = slot;
    worker.on('message', (message: FromWorker) => this.#onMessage(slot, message));
    worker.on('error', (error) => {
      this.#options.log?.('worker-error', { index, name: error instanceof Error ? error.name : 'unknown' }, 'error');
    });
    worker.once('exit', (exitCode) => this.#onExit(index, slot, exitCode));
    // A worker that hangs while it starts (a deadlock, an entry that never reaches runEnclave)
    // would otherwise count as starting for ever: readiness and the tasks queued for it with it.
    const startTimer = setTimeout(() => {
      if (slot.ready || this.#slots[index] !== slot) return;
      this.#options.log?.('worker-start-timeout', { index }, 'error');
      void worker.terminate();
    }, this.#options.startTimeoutMs ?? START_TIMEOUT_MS);
    startTimer.unref();
    void started.then(() => clearTimeout(startTimer));
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.#startFailures[slot.index] = 0;
        slot.markStarted();
        this.#options.log?.('worker-ready', { index: slot.index }, 'info');
        return;
      case 'results':
        for (const { id, outcomes } of message.results) {
          const pending = slot.pending.get(id);
          if (pending === undefined) continue;
          slot.pending.delete(id);
          slot.load -= pending.items;
          pending.resolve(outcomes.map(outcomeFromWire));
        }
        return;
      case 'kms-decrypt':
        this.#options.decrypt(message.input).then(
          ({ KeyId, Plaintext }) => {
            // A copy with its own buffer to transfer; the answer is zeroed here either way, and so
            // is the copy when the worker is gone or closing (it would never zero it).
            const copy = new Uint8Array(Plaintext);
            Plaintext.fill(0);
            if (this.#canReply(slot)) this.#send(slot.worker, { type: 'kms-reply', id: message.id, keyId: KeyId, plaintext: copy }, [copy.buffer]);
            else copy.fill(0);
          },
          (error: unknown) => {
            if (this.#canReply(slot)) this.#send(slot.worker, { type: 'kms-reply', id: message.id, error: wireError(toEnclaveKitError(error)) });
          },
        );
        return;
      case 'rate-take': {
        let error: WireError | undefined;
        try {
          this.#takeRate(message.bucketKey);
        } catch (refused) {
          error = wireError(toEnclaveKitError(refused));
        }
        if (this.#canReply(slot)) this.#send(slot.worker, { type: 'rate-reply', id: message.id, ...(error === undefined ? {} : { error }) });
        return;
      }
      case 'closed':
        slot.closed?.(message.report);
        return;
    }
  }

  #onExit(index: number, slot: Slot, exitCode: number): void {
    slot.markStarted();
    if (this.#slots[index] === slot) this.#slots[index] = undefined;
    const lost = [...slot.pending.values()];
    slot.pending.clear();
    slot.load = 0;
    for (const pending of lost) pending.reject(new ServiceError('ERR_INTERNAL', 'an enclave worker stopped before answering'));
    if (this.#closing || this.#failed) return;
    this.#options.log?.('worker-exit', { index, exitCode, inFlight: lost.length, ready: slot.ready }, 'error');
    if (slot.ready) this.#replace(index);
    else this.#startFailed(index);
  }

  /** Starts a worker in the slot of one that died. */
  #replace(index: number): void {
    this.#restarts += 1;
    this.#trySpawn(index);
  }

  /** Starts a worker in a slot; a thread that cannot even be created counts as a failed start. */
  #trySpawn(index: number): void {
    try {
      this.#spawn(index);
    } catch (error) {
      this.#options.log?.('worker-spawn-failed', { index, name: error instanceof Error ? error.name : 'unknown' }, 'error');
      this.#startFailed(index);
    }
  }

  /**
   * A slot's worker died before it was ready: try again after a pause that doubles with each
   * failure in a row, or, when every slot has failed MAX_START_FAILURES times in a row, give up.
   */
  #startFailed(index: number): void {
    const failures = (this.#startFailures[index] = (this.#startFailures[index] ?? 0) + 1);
    if (this.#startFailures.every((count) => count >= MAX_START_FAILURES)) {
      this.#failed = true;
      this.#options.onFatal?.(new ServiceError('ERR_INTERNAL', `no enclave worker thread can start (each of ${this.#slots.length} failed ${MAX_START_FAILURES} times in a row)`));
      return;
    }
    const delay = Math.min((this.#options.respawnDelayMs ?? RESPAWN_DELAY_MS) * 2 ** (failures - 1), RESPAWN_DELAY_MAX_MS);
    setTimeout(() => {
      if (!this.#closing && !this.#failed && this.#slots[index] === undefined) this.#replace(index);
    }, delay).unref();
  }

  /** A worker still in the pool and not asked to close: one that can use (and will zero) a reply. */
  #canReply(slot: Slot): boolean {
    return !this.#closing && this.#slots.includes(slot);
  }

  #sendKeys(worker: Worker): void {
    const keys = [...this.#options.loadedKeys()];
    this.#send(worker, { type: 'keys', keys }, keys.map(([, key]) => key.buffer as ArrayBuffer));
  }

  #send(worker: Worker, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }
}

/**
 * The script a worker runs. From a bundle it is the process's main script, started again on the
 * thread with the same arguments (a worker's process.argv has none unless given): dist/enclave.js (what the image ships and PCR0 measures), an
 * app's own entry that calls runEnclave (docs/api.md "Custom handlers"), or the CLI's launcher for
 * `enclavekit enclave`, whose code-split chunks (this file's own URL among them) are no program.
 * Each reaches runEnclave, which on a worker thread runs the pool worker. Run from TypeScript
 * sources (tests, bench), the worker imports enclave/main.ts through tsx's loader (a development
 * dependency the bundle never reaches).
 */
function workerScript(): { url: URL | string; eval: boolean; argv: string[] } {
  const here = new URL(import.meta.url);
  if (!here.pathname.endsWith('.ts')) {
    const main = process.argv[1];
    return { url: main === undefined ? here : pathToFileURL(main), eval: false, argv: process.argv.slice(2) };
  }
  const tsx = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const main = new URL('../main.ts', here).href;
  return { url: `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(main)}, ${JSON.stringify(main)}));`, eval: true, argv: [] };
}
