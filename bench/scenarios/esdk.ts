/**
 * ESDK-sealed cards through the whole stack against @aws-crypto/client-node decrypting the same
 * messages in this process, for the ESDK's default suite (signed, 0x0578) and the
 * unsigned committing one (0x0478).
 *
 * Messages: 512 cards sealed by a producer with a caching CMM, 100 records per data key (so 6
 * data keys; bench/lib/esdk.ts says why). Caches are warm on both sides: the enclave's data-key
 * cache after the first record of each key, the library's caching CMM likewise. Each figure is a
 * closed loop, rounds interleaved:
 *   - whole stack, 1 card per request (64 in flight) and 100 per request (4 in flight): tokenize;
 *   - in process, the enclave's cards.tokenize-batch handler on the same messages (4 in flight):
 *     splits the gap between the stack and the library into "the hop" and "the enclave's ESDK
 *     path" (structure walk, acceptance rules, data-key cache lease, tokenization);
 *   - the library: esdk.decrypt with a caching CMM, 8 in flight (the bound).
 * Also checked: over a first pass of every message and all the load, the enclave made exactly one
 * KMS Decrypt per data key (its kms-call log events).
 */
import type { BenchCheck, BenchFigure, BenchRow, Scenario } from '../main.js';
import { testCards } from '../lib/cards.js';
import { distinctDataKeys, libraryDecryptor, sealCardsEsdk, type SuiteName } from '../lib/esdk.js';
import { startInProcessEnclave } from '../lib/inprocess.js';
import { closedLoop } from '../lib/load.js';
import { CpuTally, memoryOf, sampleMemory } from '../lib/proc.js';
import { figure, interleaveAsync, ratioStats } from '../lib/rounds.js';
import { startBenchStack, type BenchStack } from '../lib/stack.js';

const POOL = 512;
const PER_DATA_KEY = 100;
const BATCH = 100;
/** 400 cards in flight: the enclave opens 8 items of each batch at a time, so 32 at once. */
const BATCH_IN_FLIGHT = 4;

function decryptCalls(stack: BenchStack): number {
  return stack.enclaveEvents().filter((event) => event.event === 'kms-call' && event.operation === 'Decrypt').length;
}

function batchesOf<T>(items: readonly T[], count: number): T[][] {
  return Array.from({ length: count }, (_, j) => Array.from({ length: BATCH }, (_, k) => items[(j * 37 + k) % items.length] as T));
}

const scenario: Scenario = {
  description: 'ESDK-sealed cards: whole stack vs @aws-crypto/client-node decrypting the same messages in process',
  async run({ quick, log }) {
    const stack = await startBenchStack({ log });
    const inproc = await startInProcessEnclave(stack);
    const stopSampling = sampleMemory(stack.enclavePid());
    const rows: BenchRow[] = [];
    const checks: BenchCheck[] = [];
    const figures: BenchFigure[] = [];
    const info: Record<string, unknown> = { messages: POOL, recordsPerDataKey: PER_DATA_KEY, isolatedEnclave: stack.isolated };
    try {
      const cards = testCards(POOL, 7);
      const library = libraryDecryptor(inproc.services.kms, stack.keyArn);
      for (const suite of ['signed', 'unsigned'] as SuiteName[]) {
        log(`  ${suite} suite: sealing ${POOL} cards, ${PER_DATA_KEY} per data key`);
        const messages = await sealCardsEsdk(stack.sim, stack.principal('client'), stack.keyArn, cards, { suite, messagesPerDataKey: PER_DATA_KEY });
        const dataKeys = distinctDataKeys(messages);
        const callsBefore = decryptCalls(stack);

        // Correctness first: the stack's token equals the in-process handler's, the library
        // returns the card.
        const first = Buffer.from(JSON.stringify({ card: { esdk: Buffer.from(messages[0]!).toString('base64') } }));
        const answer = await stack.http.post('/v1/cards/tokenize', first);
        const here = (await inproc.call('cards.tokenize', { card: { esdk: messages[0] } })) as { token: string };
        if (answer.status !== 200 || (JSON.parse(answer.body) as { token: string }).token !== here.token) throw new Error(`ESDK tokenize disagrees: ${answer.status} ${answer.body.slice(0, 200)}`);
        if (JSON.parse(Buffer.from(await library(messages[0]!)).toString('utf8')).pan !== cards[0]!.pan) throw new Error('the library decrypted something else');

        const singleBodies = messages.map((m) => Buffer.from(JSON.stringify({ card: { esdk: Buffer.from(m).toString('base64') } })));
        const batches = batchesOf(messages, 6);
        const batchBodies = batches.map((batch) => Buffer.from(JSON.stringify({ cards: batch.map((m) => ({ esdk: Buffer.from(m).toString('base64') })) })));
        const batchInputs = batches.map((batch) => ({ cards: batch.map((m) => ({ esdk: m })) }));
        const post = async (path: string, body: Buffer): Promise<void> => {
          const reply = await stack.load.post(path, body);
          if (reply.status !== 200 || reply.body.includes('"error"')) throw new Error(`${path}: ${reply.status} ${reply.body.slice(0, 200)}`);
        };
        // Every message once, so that every data key has reached the enclave before the count.
        for (let at = 0; at < POOL; at += BATCH) {
          const cardsAt = messages.slice(at, at + BATCH).map((m) => ({ esdk: Buffer.from(m).toString('base64') }));
          await post('/v1/cards/tokenize-batch', Buffer.from(JSON.stringify({ cards: cardsAt })));
        }
        const FULL_1 = `${suite}: whole stack, 1 card/request (64 in flight)`;
        const FULL_B = `${suite}: whole stack, ${BATCH} cards/request (${BATCH_IN_FLIGHT} in flight)`;
        const HANDLER_B = `${suite}: in process, tokenize-batch handler (${BATCH_IN_FLIGHT} in flight)`;
        const LIB = `${suite}: ESDK library decrypt in process (8 in flight)`;
        const cpu = { single: new CpuTally(), batch: new CpuTally(), handler: new CpuTally(), library: new CpuTally() };
        const result = await interleaveAsync(
          {
            [FULL_1]: (ms) => cpu.single.measure(stack, () => closedLoop((i) => post('/v1/cards/tokenize', singleBodies[i % POOL]!), { concurrency: 64, durationMs: ms })),
            [FULL_B]: (ms) => cpu.batch.measure(stack, () => closedLoop((i) => post('/v1/cards/tokenize-batch', batchBodies[i % batchBodies.length]!), { concurrency: BATCH_IN_FLIGHT, durationMs: ms })),
            [HANDLER_B]: (ms) => cpu.handler.measure(undefined, () => closedLoop(async (i) => void (await inproc.call('cards.tokenize-batch', batchInputs[i % batchInputs.length])), { concurrency: BATCH_IN_FLIGHT, durationMs: ms })),
            [LIB]: (ms) => cpu.library.measure(undefined, () => closedLoop(async (i) => void (await library(messages[i % POOL]!)).fill(0), { concurrency: 8, durationMs: ms })),
          },
          { ...(quick ? { rounds: 2, sliceMs: 800, warmupMs: 500 } : { rounds: 4, sliceMs: 2000, warmupMs: 1500 }), log },
        );
        const calls = decryptCalls(stack) - callsBefore;
        const single = ratioStats(result, FULL_1, LIB);
        const batch = ratioStats(result, FULL_B, LIB, BATCH);
        const handler = ratioStats(result, HANDLER_B, LIB, BATCH);
        rows.push(
          ...result.rows.map((row) => ({ ...row, unit: row.name === FULL_1 ? 'request of 1 card' : row.name === LIB ? 'message decrypted' : `request of ${BATCH} cards` })),
          ...result.rows
            .filter((row) => row.name === FULL_B || row.name === HANDLER_B)
            .map((row) => ({ name: `${row.name.replace(/ \(.*\)$/, '')}: cards/s`, opsPerSec: row.opsPerSec * BATCH, meanUs: row.meanUs / BATCH, ops: row.ops * BATCH, unit: 'card' })),
        );
        checks.push(
          { name: `${suite}: whole stack 1-card requests/s / library decrypts/s`, value: single.median, target: 0.9, pass: single.median >= 0.9, range: single.range, detail: '(per-round median)' },
          { name: `${suite}: whole stack cards/s in batches of ${BATCH} / library decrypts/s`, value: batch.median, target: 0.9, pass: batch.median >= 0.9, range: batch.range, detail: '(per-round median)' },
          { name: `${suite}: enclave KMS Decrypt calls per data key`, value: calls / dataKeys, target: 1, comparison: '≤', pass: calls === dataKeys, detail: `(${calls} calls, ${dataKeys} data keys, ${result.rows.reduce((n, r) => n + r.ops, 0)} requests)` },
        );
        info[suite] = { cpuUsPerOp: { single: cpu.single.perOpUs(), batch: cpu.batch.perOpUs(), handlerBatch: cpu.handler.perOpUs(), library: cpu.library.perOpUs() }, dataKeys, enclaveDecryptCalls: calls, messageBytes: messages[0]!.length, perRound: result.perRound, ratios: { single: single.perRound, batch: batch.perRound, handlerBatchOverLibrary: handler.perRound } };
        figures.push(figure(`${suite}: in-process handler cards/s / library`, '× (per round)', handler.perRound));
        const perCard = (tally: CpuTally, cardsPerOp: number): number => Object.values(tally.perOpUs()).reduce((a, b) => a + b, 0) / cardsPerOp;
        figures.push(
          figure(`${suite}: CPU µs per card, whole stack, 1/request (all processes)`, 'µs', [perCard(cpu.single, 1)]),
          figure(`${suite}: CPU µs per card, whole stack, ${BATCH}/request (all processes)`, 'µs', [perCard(cpu.batch, BATCH)]),
          figure(`${suite}: CPU µs per card, in-process handler`, 'µs', [perCard(cpu.handler, BATCH)]),
          figure(`${suite}: CPU µs per message, library decrypt`, 'µs', [perCard(cpu.library, 1)]),
        );
      }
      const memory = stopSampling();
      return {
        rows,
        checks,
        figures: [...figures, figure('enclave VmRSS under load: peak of 100 ms samples', 'MiB', [memory.peakRssMiB]), figure('enclave VmHWM (kernel peak RSS)', 'MiB', [memoryOf(stack.enclavePid()).hwmMiB])],
        info,
      };
    } finally {
      stopSampling();
      inproc.close();
      await stack.close();
    }
  },
};

export default scenario;
