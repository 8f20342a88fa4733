/**
 * `enclavekit enclave --config FILE` with `cards`, i.e. the CLI's code-split build (dist/cli.js)
 * as the enclave program, run by a launcher like bin/enclavekit.js. Its worker pool starts the
 * running program again on each thread (enclave/workers/pool.ts), with the same arguments; that
 * must reach the pool worker, not the CLI's usage line. Before, the workers loaded the pool's own
 * chunk, never became ready and were replaced every second; now such an enclave would exit with a
 * fatal line. Here it becomes ready and tokenizes a card on its workers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/built.js';
import { esdkProducer, type Producer } from './producer.js';
import { startStack, type Stack } from './stack.js';
import { whenWorkersReady } from './worker-events.js';

const CLI_BUNDLE = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

let dir: string;
let stack: Stack;
let producer: Producer;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'ek-cli-enclave-'));
  // bin/enclavekit.js with the `enclave` command fixed: the stack starts a program with `--config FILE`.
  const launcher = path.join(dir, 'enclavekit-enclave.mjs');
  writeFileSync(launcher, `const { main } = await import(${JSON.stringify(pathToFileURL(CLI_BUNDLE).href)});\nprocess.exitCode = await main(['enclave', ...process.argv.slice(2)]);\n`);
  stack = await startStack({ bundle: launcher, enclaveConfig: { workers: 2 } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('enclavekit enclave (the CLI build) with a worker pool', () => {
  it('starts its workers from the CLI, becomes ready and tokenizes on them', async () => {
    const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard({ pan: '4111111111111111', exp: '12/39' }) } }) });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.token).toMatch(/^\d{16}$/);
    const { startedSize, ready, failures } = await whenWorkersReady(() => stack.enclaveOutput());
    expect(startedSize).toBe(2);
    expect(ready).toBe(2);
    expect(failures).toEqual([]);
  });
});
