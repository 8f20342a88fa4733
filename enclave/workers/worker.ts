/**
 * A pool worker's side (enclave/workers/pool.ts): the built-in operations' CPU work on its own
 * thread. It holds copies of the enclave's HPKE private key and of the loaded long-lived keys,
 * opens sealed inputs here (plaintext never leaves this thread), asks the main thread for data keys
 * (the main thread's attested KMS client and data-key cache decide whether KMS is called), asks it
 * to take an anonymous card's rate-limit bucket before tokenizing, and sends back derived outcomes.
 *
 * On `close` it zeroes every key buffer it was given (KeyRing.clear, HpkeRecipient.dispose),
 * reports how many non-zero bytes remain in them (0, or the test that checks it fails) and exits.
 */
import type { MessagePort } from 'node:worker_threads';
import { errorFromWire, toEnclaveKitError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { runBuiltinTask, type BuiltinTask, type WorkContext } from '../app/builtin-work.js';
import { blindIndexerFor, sealedInputContext } from '../app/handlers.js';
import { Tokenizer } from '../cards/tokenizer.js';
import { KeyRing } from '../key-ring.js';
import { unpackInputs } from './packed-inputs.js';
import { outcomeToWire, type FromWorker, type KmsDecryptRequest, type ToWorker, type WireResult, type WorkerInit } from './protocol.js';

/** Items started per event-loop turn (at least one task): see `pump`. */
const ITEMS_PER_TURN = 16;

type KmsAnswer = { KeyId?: string | undefined; Plaintext?: Uint8Array | undefined };

export async function runPoolWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  /** Every key buffer handed to this worker, kept only to report on close that all are zeroed. */
  const held: Uint8Array[] = [init.hpkePrivateKey];
  let hpke: HpkeRecipient;
  try {
    hpke = await HpkeRecipient.fromPrivateKey(init.hpkePrivateKey);
  } catch (error) {
    // This worker will never start: the loaded keys' copies it was given go too.
    for (const [, key] of init.keys) key.fill(0);
    throw error;
  } finally {
    init.hpkePrivateKey.fill(0);
  }
  const keys = new KeyRing();
  const install = (entries: [string, Uint8Array][]): void => {
    // The ring zeroes a copy of bytes it already holds; only the copies it keeps are tracked, so
    // repeated keys.load calls cannot grow this list.
    for (const [name, key] of entries) if (keys.set(name, key)) held.push(key);
  };
  install(init.keys);

  // Requests to the main thread (data keys, rate-limit buckets), answered by id.
  let nextRequestId = 0;
  const requests = new Map<number, { resolve: (answer: KmsAnswer) => void; reject: (error: unknown) => void }>();
  const ask = (send: (id: number) => void): Promise<KmsAnswer> => {
    const id = nextRequestId++;
    return new Promise<KmsAnswer>((resolve, reject) => {
      requests.set(id, { resolve, reject });
      send(id);
    });
  };
  const kms = {
    decrypt(input: KmsDecryptRequest): Promise<KmsAnswer> {
      // A copy of the wrapped key in a buffer of its own, transferred: the blob may be a view into
      // this worker's tasks message (a kmsRsa input's wrapped secret is), and posting a view clones
      // its whole backing buffer, every input in it; `.slice()` would be no copy on a Buffer.
      const blob = new Uint8Array(input.CiphertextBlob);
      return ask((id) =>
        post({ type: 'kms-decrypt', id, input: { KeyId: input.KeyId, CiphertextBlob: blob, EncryptionContext: input.EncryptionContext, ...(input.EncryptionAlgorithm === undefined ? {} : { EncryptionAlgorithm: input.EncryptionAlgorithm }) } as KmsDecryptRequest }, [blob.buffer]),
      );
    },
  };
  const answered = (id: number): { resolve: (answer: KmsAnswer) => void; reject: (error: unknown) => void } | undefined => {
    const pending = requests.get(id);
    requests.delete(id);
    return pending;
  };
  const ctx: WorkContext = {
    sealed: sealedInputContext({ kms, identity: { hpke } }, init.cards),
    tokenizer: () => keys.derive('tokenization', (key) => new Tokenizer(key)),
    indexer: () => keys.derive('blind-index', (key) => blindIndexerFor(key, init.cards)),
    now: Date.now,
    takeRate: async (bucketKey) => {
      await ask((id) => post({ type: 'rate-take', id, bucketKey }));
    },
  };

  // Results finished in one event-loop turn go back in one message (protocol.ts `results`).
  let outbox: WireResult[] = [];
  const reply = (result: WireResult): void => {
    if (outbox.push(result) > 1) return;
    process.nextTick(() => {
      const results = outbox;
      outbox = [];
      post({ type: 'results', results });
    });
  };
  const run = (id: number, task: BuiltinTask): void => {
    runBuiltinTask(task, ctx).then(
      (outcomes) => reply({ id, outcomes: outcomes.map(outcomeToWire) }),
      (error: unknown) => {
        // runBuiltinTask settles every item itself; anything else is this worker's bug.
        const typed = toEnclaveKitError(error);
        reply({ id, outcomes: task.items.map(() => ({ error: { code: typed.code, message: typed.message } })) });
      },
    );
  };

  // Tasks start ITEMS_PER_TURN items' worth per event-loop turn, not a whole message's at once:
  // the work is synchronous once keys are cached, so the tasks started in one turn finish in it
  // and their results leave at its end, and the main thread settles them and sends more while
  // this thread works on the next ones. Started all at once, a message's tasks would all finish
  // together and this thread would wait while the main thread handled their results. A task
  // waiting for a data key does not hold the queue up: the next turn starts the next tasks.
  const queue: { id: number; task: BuiltinTask }[] = [];
  let pumping = false;
  const pump = (): void => {
    let started = 0;
    while (queue.length > 0 && started < ITEMS_PER_TURN) {
      const { id, task } = queue.shift()!;
      started += task.items.length;
      run(id, task);
    }
    if (queue.length > 0) setImmediate(pump);
    else pumping = false;
  };

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'tasks': {
        const inputs = unpackInputs(message.inputs);
        let next = 0;
        for (const { id, task, items } of message.tasks) queue.push({ id, task: { ...task, items: inputs.slice(next, (next += items)) } });
        if (!pumping) {
          pumping = true;
          setImmediate(pump);
        }
        return;
      }
      case 'kms-reply': {
        const pending = answered(message.id);
        if (pending === undefined) {
          message.plaintext?.fill(0);
          return;
        }
        if (message.error !== undefined) pending.reject(errorFromWire(message.error));
        else pending.resolve({ KeyId: message.keyId, Plaintext: message.plaintext });
        return;
      }
      case 'rate-reply': {
        const pending = answered(message.id);
        if (message.error !== undefined) pending?.reject(errorFromWire(message.error));
        else pending?.resolve({});
        return;
      }
      case 'keys':
        install(message.keys);
        return;
      case 'close': {
        keys.clear();
        hpke.dispose();
        const nonZeroBytes = held.reduce((sum, key) => sum + key.reduce((n, byte) => n + (byte === 0 ? 0 : 1), 0), 0);
        post({ type: 'closed', report: { keyBuffers: held.length, nonZeroBytes } });
        held.length = 0;
        port.close();
        return;
      }
    }
  });
  post({ type: 'ready' });
}
