/**
 * What this machine lets two threads do at all: one CPU-only kernel (an X25519 agreement with a
 * public key imported each time, AES-256-GCM over 200 bytes, SHA-256: the kinds of work opening a
 * card does, not its exact code) run on 1 and on 2 worker threads for the same slice of time,
 * rounds interleaved. The
 * threads share nothing and exchange no message while they run, so their 2/1 ratio is the ceiling
 * of any thread pool's scaling on this machine at that moment: it is what the hypervisor's vCPUs,
 * the other processes and V8's own helper threads leave. workers.ts reports it beside the pool's.
 */
import { Worker } from 'node:worker_threads';
import { median } from '../main.js';

// Plain CommonJS run with `eval`: the kernel needs no module of this repository.
const KERNEL = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const own = crypto.generateKeyPairSync('x25519');
const peer = crypto.generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
const key = crypto.randomBytes(32);
const iv = crypto.randomBytes(12);
const data = crypto.randomBytes(200);
parentPort.on('message', ({ untilEpochMs }) => {
  let done = 0;
  while (Date.now() < untilEpochMs) {
    crypto.diffieHellman({ privateKey: own.privateKey, publicKey: crypto.createPublicKey({ key: peer, format: 'jwk' }) });
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.update(data);
    cipher.final();
    crypto.hash('sha256', data);
    done += 1;
  }
  parentPort.postMessage(done);
});
parentPort.postMessage('ready');
`;

function startKernel(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(KERNEL, { eval: true });
    worker.once('error', reject);
    worker.once('message', () => resolve(worker));
  });
}

/** Kernel iterations per second over one slice with `workers` running together. */
async function slice(workers: readonly Worker[], sliceMs: number): Promise<number> {
  const untilEpochMs = Date.now() + sliceMs;
  const counts = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<number>((resolve, reject) => {
          const failed = (error: unknown): void => reject(error instanceof Error ? error : new Error(`kernel thread exited (${String(error)})`));
          worker.once('error', failed);
          worker.once('exit', failed);
          worker.once('message', (done: number) => {
            worker.off('error', failed);
            worker.off('exit', failed);
            resolve(done);
          });
          worker.postMessage({ untilEpochMs });
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0) / (sliceMs / 1000);
}

export interface ComputeScaling {
  /** 2-thread rate ÷ 1-thread rate, per round. */
  perRound: number[];
  median: number;
  oneThreadPerSec: number;
}

export async function computeScaling(options: { rounds: number; sliceMs: number }): Promise<ComputeScaling> {
  const workers = [await startKernel(), await startKernel()];
  try {
    await slice(workers, Math.min(options.sliceMs, 300));
    const perRound: number[] = [];
    const one: number[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      // Alternating order, as the other interleaved rounds do.
      const single = round % 2 === 0 ? await slice(workers.slice(0, 1), options.sliceMs) : undefined;
      const both = await slice(workers, options.sliceMs);
      const alone = single ?? (await slice(workers.slice(0, 1), options.sliceMs));
      one.push(alone);
      perRound.push(both / alone);
    }
    return { perRound, median: median(perRound), oneThreadPerSec: median(one) };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
