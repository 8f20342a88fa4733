/**
 * The messages between the enclave's main thread and its pool workers (node:worker_threads, inside
 * the one enclave process). Plaintext inputs never cross: tasks carry sealed inputs, results carry
 * derived outcomes. Key material crosses only main → worker (the HPKE private key and the loaded
 * long-lived keys at start and on `keys.load`, data keys as answers to `kms-decrypt`), always as
 * fresh copies whose buffers are transferred, so the sender keeps no copy to forget to zero.
 */
import { errorFromWire, type EnclaveKitError } from '../../shared/errors.js';
import type { EnclaveConfig } from '../config.js';
import type { BuiltinTask, ItemOutcome } from '../app/builtin-work.js';
import type { EsdkDecryptInput } from '../sealed/esdk.js';

/** Marks workerData as a pool worker's (the bundle's entry serves both roles: enclave/main.ts). */
export const WORKER_MARK = 'enclavekit-pool-worker/v1';

export interface WorkerInit {
  mark: typeof WORKER_MARK;
  cards: NonNullable<EnclaveConfig['cards']>;
  /** A copy of the enclave's raw X25519 private key; the worker imports it and zeroes this buffer. */
  hpkePrivateKey: Uint8Array;
  /** Copies of the long-lived keys loaded so far (a replacement worker starts with them). */
  keys: [string, Uint8Array][];
}

export interface WireError {
  code: string;
  message: string;
}

export type WireOutcome = { value: unknown } | { error: WireError };

/** Decrypt requests as the sealed-input openers make them (ESDK keyring, esdk-fast, kmsRsa). */
export type KmsDecryptRequest = EsdkDecryptInput & { EncryptionAlgorithm?: 'RSAES_OAEP_SHA_256' };

/**
 * A task as sent to a worker: its id routes the outcomes back to the caller; `task.items` is empty
 * and its `items` inputs are the next ones in the message's packed `inputs` (packed-inputs.ts).
 */
export interface WireTask {
  id: number;
  task: BuiltinTask;
  items: number;
}

export interface WireResult {
  id: number;
  outcomes: WireOutcome[];
}

/**
 * `tasks` and `results` carry every task (result) one side had for the other in one event-loop
 * turn: under load many single-item requests arrive per turn, and each message costs a clone, a
 * wake-up of the other thread and an event dispatch whatever it carries (bench/scenarios/workers.ts).
 */
export type ToWorker =
  | { type: 'tasks'; tasks: WireTask[]; inputs: Uint8Array<ArrayBuffer> }
  | { type: 'keys'; keys: [string, Uint8Array][] }
  | { type: 'kms-reply'; id: number; keyId?: string | undefined; plaintext?: Uint8Array | undefined; error?: WireError }
  | { type: 'rate-reply'; id: number; error?: WireError }
  | { type: 'close' };

/** How a worker left its keys: every key buffer it ever held, and how many of their bytes are not zero. */
export interface WorkerCloseReport {
  keyBuffers: number;
  nonZeroBytes: number;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'results'; results: WireResult[] }
  | { type: 'kms-decrypt'; id: number; input: KmsDecryptRequest }
  /** An anonymous card's rate-limit bucket, taken on the main thread before the card is tokenized. */
  | { type: 'rate-take'; id: number; bucketKey: string }
  | { type: 'closed'; report: WorkerCloseReport };

export function wireError(error: EnclaveKitError): WireError {
  return { code: error.code, message: error.message };
}

export function outcomeToWire(outcome: ItemOutcome): WireOutcome {
  return 'error' in outcome ? { error: wireError(outcome.error) } : { value: outcome.value };
}

export function outcomeFromWire(wire: WireOutcome): ItemOutcome {
  return 'error' in wire ? { error: errorFromWire(wire.error) } : { value: wire.value };
}

export function isWorkerInit(data: unknown): data is WorkerInit {
  return typeof data === 'object' && data !== null && (data as { mark?: unknown }).mark === WORKER_MARK;
}
