/**
 * Measures RPC round trips per second over each transport on loopback, with a fixed number of
 * requests in flight (default 64), the server in a child process (so the two ends do not share
 * one event loop). Not a test: numbers depend on the machine.
 *
 *   node --import tsx test/transport/measure-rpc.ts [--seconds 3] [--concurrency 64] [--kinds unix,ws,tcp,native]
 *
 * Prints one JSON line per transport: {kind, concurrency, seconds, requests, perSecond, p50Us, p99Us}.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import { connectChannel, listenChannels } from '../../shared/transport/index.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '64' },
    kinds: { type: 'string', default: 'unix,ws,tcp,native' },
    serve: { type: 'string' },
    native: { type: 'boolean', default: false },
  },
});

const REQUEST = { pan: '4111111111111111', expiry: '12/30', context: 'merchant-42' };

async function serve(url: string, native: boolean): Promise<void> {
  const listener = await listenChannels(
    url,
    (channel) => {
      new RpcPeer(channel, {
        handlers: { tokenize: (body) => ({ token: `${(body as typeof REQUEST).pan.slice(0, 6)}000000${(body as typeof REQUEST).pan.slice(-4)}` }) },
      });
    },
    native ? { native: true } : {},
  );
  process.stdout.write(`${listener.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void listener.close().then(() => process.exit(0)));
}

async function measure(kind: string, url: string, native: boolean, seconds: number, concurrency: number): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', url, ...(native ? ['--native'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const boundUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  const peer = new RpcPeer(await connectChannel(boundUrl, native ? { native: true } : {}));
  const latencies: number[] = [];
  let count = 0;
  let stopAt = 0;
  let recording = false;
  const worker = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      await peer.request('tokenize', REQUEST);
      if (recording) {
        latencies.push(performance.now() - t0);
        count++;
      }
    }
  };
  // Warm-up (JIT, socket buffers), then the measured run.
  stopAt = performance.now() + 500;
  await Promise.all(Array.from({ length: concurrency }, worker));
  recording = true;
  const start = performance.now();
  stopAt = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 1000);
  process.stdout.write(
    `${JSON.stringify({ kind, concurrency, seconds: Number(elapsed.toFixed(2)), requests: count, perSecond: Math.round(count / elapsed), p50Us: pct(0.5), p99Us: pct(0.99) })}\n`,
  );
  peer.close();
  child.stdin!.end();
  await new Promise((r) => child.once('exit', r));
}

if (values.serve !== undefined) {
  await serve(values.serve, values.native === true);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ek-measure-'));
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const urls: Record<string, [string, boolean]> = {
    unix: [`unix://${dir}/rpc.sock`, false],
    ws: ['ws://127.0.0.1:0/rpc', false],
    tcp: ['tcp://127.0.0.1:0', false],
    native: [`unix://${dir}/native.sock`, true],
    'ws+unix': [`ws+unix://${dir}/ws.sock:/rpc`, false],
  };
  try {
    for (const kind of values.kinds!.split(',')) {
      const entry = urls[kind];
      if (entry === undefined) throw new Error(`unknown kind ${kind}`);
      await measure(kind, entry[0], entry[1], seconds, concurrency);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
