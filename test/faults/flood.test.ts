/**
 * A flood of malformed and oversized input, on the real stack:
 * - on the enclave link, straight to the enclave's socket (what any process on the parent host
 *   could do): random bytes, oversized length headers, empty frames, truncated frames, and valid
 *   frames carrying invalid messages;
 * - on the parent's HTTP API: bodies that are not JSON, not the contract, oversized (declared or
 *   streamed), too deep, too many items, and requests abandoned half-way.
 * Properties: every answer is a typed error (`{error: {code, message}}`, a code of
 * shared/errors.ts with its own status), the enclave and the parent stay up, a concurrent
 * well-formed client keeps getting correct answers, and resident memory stays bounded: once a
 * first round has set the process's working size, further rounds grow it by far less than they
 * send (the decoder and the body reader never hold what a header merely announces, and nothing
 * of a refused or abandoned request is kept).
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { decodeMessage } from '../../shared/protocol/messages.js';
import { encodeFrameHeader } from '../../shared/protocol/frame-encoder.js';
import { packPlain } from '../../shared/protocol/msgpack.js';
import { connectChannel } from '../../shared/transport/index.js';
import { seededRandom } from '../../sim/kms/faults.js';
import { startStack, type Stack } from '../e2e/stack.js';
import { esdkProducer, type Producer } from '../e2e/producer.js';
import { CARDS, expectTypedError, isAlive, parentPid, rssBytes, sleep, tokenizeEsdk, type ApiAnswer } from './helpers.js';

const MiB = 1024 * 1024;

let stack: Stack;
let producer: Producer;
let sealed: string;
let expectedToken: string;
/** The parent's own URL, without the recording tap (which would keep every flooded byte). */
let direct: string;

beforeAll(async () => {
  // A detokenize scope, so that route's bodies are read and judged (a token without one is refused before its body).
  stack = await startStack({ tokenScopes: ['cards:detokenize:flood'] });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  sealed = await producer.sealCard(CARDS[0]);
  const res = await tokenizeEsdk(stack, sealed);
  expect(res.status).toBe(200);
  expectedToken = res.json.token as string;
  direct = readFileSync(path.join(stack.dir, 'run', 'parent.url'), 'utf8').trim();
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
});

/** Deterministic junk. */
function junk(random: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  for (; i < n; i += 1) out[i] = Math.floor(random() * 256);
  return out;
}

/** A well-formed client, tokenizing through the whole stack until stopped; every answer must be right. */
const clients = new Set<{ stop(): Promise<unknown> }>();
afterEach(async () => {
  // A test that failed half-way still stops its client (no requests outliving the test).
  for (const client of clients) await client.stop();
});

function wellFormedClient(): { stop(): Promise<(ApiAnswer | Error)[]> } {
  const answers: (ApiAnswer | Error)[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        answers.push(await tokenizeEsdk(stack, sealed, 30_000));
      } catch (error) {
        answers.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
  })();
  const client = {
    async stop() {
      clients.delete(client);
      // At least a few answers overlap the flood, however fast it went.
      while (answers.length < 5) await sleep(10);
      stopped = true;
      await loop;
      return answers;
    },
  };
  clients.add(client);
  return client;
}

function expectAllCorrect(answers: (ApiAnswer | Error)[]): void {
  expect(answers.length).toBeGreaterThanOrEqual(5);
  for (const res of answers) {
    expect(res, String(res)).not.toBeInstanceOf(Error);
    const answer = res as ApiAnswer;
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.token).toBe(expectedToken);
  }
}

/** Writes `parts` to a fresh connection to the enclave's socket, then closes it (or destroys it). */
async function rawConnection(parts: Buffer[], ending: 'end' | 'destroy' = 'end'): Promise<void> {
  const socket = net.connect(path.join(stack.dir, 'run', 'enclave.sock'));
  socket.on('error', () => undefined); // the enclave may close first; that is fine
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  for (const part of parts) {
    if (socket.destroyed) break;
    if (!socket.write(part)) await new Promise<void>((resolve) => { socket.once('drain', resolve); socket.once('close', resolve); });
  }
  if (ending === 'destroy') socket.destroy();
  else socket.end();
  await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

/**
 * Memory under a repeated flood: after warm-up rounds (which set the process's working size),
 * further rounds, together sending more than three times this bound, must leave resident memory
 * within it (a decoder that kept even a sixth of what it was sent would pass it).
 * Node 24 settles later and higher than Node 20: over 15 rounds of the HTTP flood after two
 * warm-ups, the parent's RSS rose another 34-58 MB before it levelled at 220-240 MB, moving by up to
 * 25 MB between rounds, where Node 20 stayed within 25 MB of its level. A working size, not a leak,
 * but it passed the former bound (48 MiB after 2 warm-ups, 3 rounds) on one CI run: hence four
 * warm-ups, the highest reading among them as the base, and 64 MiB over four rounds.
 */
const ROUNDS = 4;
const WARM_UP_ROUNDS = 4;
const GROWTH_BOUND = 64 * MiB;

/**
 * Runs `round` WARM_UP_ROUNDS times; returns the highest resident size of `pid` read after each,
 * the working size later rounds are measured against. The highest, not the last: on Node 24 RSS
 * moves by 10-25 MB between rounds as the heap grows and shrinks, and a low last reading would
 * count that swing as growth.
 */
async function warmUp(pid: number, round: () => Promise<unknown>): Promise<number> {
  let highest = 0;
  for (let i = 0; i < WARM_UP_ROUNDS; i += 1) {
    await round();
    highest = Math.max(highest, rssBytes(pid));
  }
  return highest;
}

describe('flood on the enclave link', () => {
  const socketPath = (): string => path.join(stack.dir, 'run', 'enclave.sock');

  /** One round; returns the bytes sent. Every answerable invalid frame must get a typed error. */
  async function floodLink(random: () => number): Promise<number> {
    let sent = 0;
    const noise = junk(random, 4 * MiB);
    const slice = (n: number): Buffer => {
      const at = Math.floor(random() * (noise.length - n));
      return noise.subarray(at, at + n);
    };

    // 1. Valid frames carrying invalid messages, on a channel of the transport library: each
    //    one with a usable id is answered with a typed error, the rest dropped.
    const channel = await connectChannel(`unix://${socketPath()}`);
    const replies = new Map<number, { ok: boolean; code?: string }>();
    channel.onFrame((payload) => {
      const m = decodeMessage(payload);
      if (m.kind === 'reply') replies.set(m.id, m.ok ? { ok: true } : { ok: false, code: m.error.code });
    });
    const answered: number[] = [];
    const request = (id: number, fields: Record<string, unknown>, v = 1): void => {
      answered.push(id);
      channel.send(packPlain({ v, id, ...fields }));
    };
    let id = 1;
    request(id++, { op: 'status', deadlineMs: 5_000, body: null, extra: 1 }); // unknown field
    request(id++, { op: 'status', deadlineMs: 0, body: null }); // deadline out of range
    request(id++, { op: 'no.such-op', deadlineMs: 5_000, body: null });
    request(id++, { op: '../../etc', deadlineMs: 5_000, body: null }); // not an operation name
    request(id++, { op: 'keys.load', deadlineMs: 5_000, body: { keys: 5 } });
    request(id++, { op: 'status', deadlineMs: 5_000, body: null }, 2); // another protocol version
    for (const body of [null, 7, 'x', [], { card: 1 }, { card: { esdk: 'AAAA' } }, { card: { esdk: new Uint8Array(64) } }, { card: { hpke: { enc: new Uint8Array(32), ciphertext: new Uint8Array(80) } } }]) {
      request(id++, { op: 'cards.tokenize', deadlineMs: 5_000, body });
    }
    for (const op of ['cards.tokenize-batch', 'cards.detokenize-to', 'pii.redact', 'pii.blind-index', 'attestation']) {
      for (const body of [null, { cards: [] }, { token: 'x', recipient: 'nobody' }, { text: {} }, { field: 'email', values: [{}] }, { nonce: 'not bytes' }]) {
        // (attestation accepts a null body: it is a valid request for a document)
        if (op !== 'attestation' || body !== null) request(id++, { op, deadlineMs: 5_000, body });
      }
    }
    // Not answerable (no usable id, or not a request): dropped, counted by the enclave.
    for (let i = 0; i < 2_000; i += 1) {
      const kind = i % 5;
      const payload =
        kind === 0 ? slice(1 + (i % 200))
        : kind === 1 ? packPlain({ v: 1, id: -i, op: 'status', deadlineMs: 5_000, body: null })
        : kind === 2 ? packPlain({ v: 1, id: 10_000 + i, ok: true, body: null }) // a reply to nothing
        : kind === 3 ? packPlain({ v: 1, id: 10_000 + i, cancel: true }) // a cancel of nothing
        : packPlain([1, 2, 3]);
      channel.send(payload);
      sent += payload.length;
    }
    // The same connection still serves a well-formed request.
    const statusId = id++;
    channel.send(packPlain({ v: 1, id: statusId, op: 'status', deadlineMs: 5_000, body: null }));

    // 2. Raw byte streams: random bytes, oversized headers (with their announced payload
    //    skipped as it arrives), empty frames, and frames cut short by the connection closing.
    const raw: Promise<void>[] = [];
    for (let c = 0; c < 8; c += 1) {
      const parts = [
        encodeFrameHeader(0xffff_ffff), noise,
        Buffer.alloc(4), // an empty frame (header only)
        ...(c % 2 === 0 ? [] : [encodeFrameHeader(LIMITS.frameMaxBytes + 1), slice(MiB)]),
        slice(MiB), // random bytes: random headers, mostly oversized
        encodeFrameHeader(LIMITS.frameMaxBytes), slice(2 * MiB), // a maximal frame, cut short
      ];
      sent += parts.reduce((n, p) => n + p.length, 0);
      raw.push(rawConnection(parts, c % 3 === 0 ? 'destroy' : 'end'));
    }
    await Promise.all(raw);

    const deadline = Date.now() + 20_000;
    while ((replies.size < answered.length || !replies.has(statusId)) && Date.now() < deadline) await sleep(20);
    channel.close();
    for (const rid of answered) {
      const reply = replies.get(rid);
      expect(reply, `no reply to request ${rid}`).toBeDefined();
      expect(reply!.ok).toBe(false);
      expect(isErrorCode(reply!.code), `untyped code ${reply!.code}`).toBe(true);
      // A malformed request is the caller's fault: never an internal error.
      expect(reply!.code, `request ${rid}`).not.toBe('ERR_INTERNAL');
    }
    expect(replies.get(answered[0]!)!.code).toBe('ERR_FRAME_MALFORMED');
    expect(replies.get(answered[2]!)!.code).toBe('ERR_UNKNOWN_OPERATION');
    expect(replies.get(answered[5]!)!.code).toBe('ERR_PROTOCOL_VERSION');
    expect(replies.get(statusId)).toEqual({ ok: true });
    // Nothing but our requests was answered: the 2,000 unanswerable frames were dropped.
    expect([...replies.keys()].filter((k) => k !== statusId && !answered.includes(k))).toEqual([]);
    return sent;
  }

  it('malformed frames get typed errors or are dropped; the enclave stays up, memory bounded, the parent\'s traffic unaffected', async () => {
    const enclavePid = stack.enclave().pid!;
    const client = wellFormedClient();
    const random = seededRandom(7);
    const rssWarm = await warmUp(enclavePid, () => floodLink(random));
    let sent = 0;
    for (let round = 0; round < ROUNDS; round += 1) sent += await floodLink(random);

    expectAllCorrect(await client.stop());
    expect(isAlive(enclavePid)).toBe(true);
    expect(stack.enclave().exitCode).toBeNull();
    expect(sent).toBeGreaterThan(3 * GROWTH_BOUND);
    // A decoder that kept what it was sent (or what headers announced) would grow by far more.
    expect(rssBytes(enclavePid) - rssWarm).toBeLessThan(GROWTH_BOUND);
  });
});

describe('flood on the parent HTTP API', () => {
  /** POSTs to the parent directly; the answer must be a typed error with one of `codes`. */
  async function post(pathname: string, body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${stack.apiToken}`, 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(30_000),
    };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const res = await fetch(direct + pathname, init);
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // left as text: expectTypedError reports it
    }
    return { status: res.status, json };
  }

  /** One round; returns the bytes sent. Every answer must be a typed error. */
  async function floodHttp(random: () => number): Promise<number> {
    const routes = ['/v1/cards/tokenize', '/v1/cards/tokenize-batch', '/v1/cards/detokenize-to', '/v1/pii/redact', '/v1/pii/blind-index'];
    const checks: Promise<void>[] = [];
    const expectCode = (answer: Promise<ApiAnswer>, codes: string[], what = codes.join()): void => {
      checks.push(
        answer.then(
          (res) => void expectTypedError(res, codes),
          (error: unknown) => {
            throw new Error(`no HTTP answer (${what}): ${String(error)}`);
          },
        ),
      );
    };
    let sent = 0;

    for (const route of routes) {
      for (const text of ['', '{', 'nul', '{"a":1}{}', '\u0000', '"\\ud800"', '1e999999', '[]', 'null', '{"__proto__":{"card":1}}']) {
        expectCode(post(route, text), ['ERR_BAD_REQUEST'], `${route} ${JSON.stringify(text)}`);
      }
      for (let i = 0; i < 10; i += 1) expectCode(post(route, junk(random, 1 + Math.floor(random() * 4096))), ['ERR_BAD_REQUEST'], 'random bytes');
      expectCode(post(route, '{}', { 'content-type': 'text/plain' }), ['ERR_BAD_REQUEST'], 'content type');
      expectCode(post(route, '{}', { authorization: 'Bearer wrong-token-0123456789' }), ['ERR_UNAUTHORIZED']);
      // Deep nesting: parsed without recursion trouble, refused by the schema.
      expectCode(post(route, `${'['.repeat(100_000)}${']'.repeat(100_000)}`), ['ERR_BAD_REQUEST'], 'deep nesting');
    }
    await Promise.all(checks.splice(0));

    // Oversized: declared by content-length (refused before reading) and streamed (refused once
    // past the limit), a few at once. Later requests reuse these connections.
    const size = LIMITS.httpBodyMaxBytes + MiB;
    for (let i = 0; i < 6; i += 1) {
      expectCode(post(routes[i % routes.length]!, Buffer.alloc(size, 0x20)), ['ERR_BODY_TOO_LARGE'], 'declared oversize');
      let left = size;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const n = Math.min(left, 256 * 1024);
          left -= n;
          if (n > 0) controller.enqueue(new Uint8Array(n).fill(0x5b));
          else controller.close();
        },
      });
      expectCode(post(routes[i % routes.length]!, stream), ['ERR_BODY_TOO_LARGE'], 'streamed oversize');
      sent += 2 * size;
    }
    await Promise.all(checks.splice(0));
    // Too many items; and a sealed field over its size limit within an acceptable body.
    expectCode(post('/v1/cards/tokenize-batch', JSON.stringify({ cards: Array.from({ length: LIMITS.batchMaxItems + 1 }, () => ({ esdk: 'AAAA' })) })), ['ERR_BATCH_TOO_LARGE']);
    expectCode(post('/v1/pii/blind-index', JSON.stringify({ field: 'email', values: Array.from({ length: LIMITS.batchMaxItems + 1 }, () => ({ esdk: 'AAAA' })) })), ['ERR_BATCH_TOO_LARGE']);
    expectCode(post('/v1/cards/tokenize', JSON.stringify({ card: { esdk: 'A'.repeat(3 * MiB) } })), ['ERR_BAD_REQUEST'], 'sealed field too long');
    await Promise.all(checks.splice(0));

    // Requests abandoned half-way: a declared body never completed, the socket then destroyed.
    const port = Number(new URL(direct).port);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write(`POST /v1/cards/tokenize HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${stack.apiToken}\r\ncontent-type: application/json\r\ncontent-length: ${2 * MiB}\r\n\r\n`);
        socket.write(Buffer.alloc(MiB, 0x7b));
        await sleep(20);
        socket.destroy();
      }),
    );
    return sent + 20 * MiB;
  }

  it('malformed and oversized bodies get typed errors; the parent stays up, memory bounded, other clients unaffected', async () => {
    const pid = parentPid(stack);
    const client = wellFormedClient();
    const random = seededRandom(11);
    // Warm-up rounds set the working size: the first grows the heap, the later ones let it settle
    // at the size this traffic needs (one round alone left ~50 MB of headroom to fill on some runs).
    const rssWarm = await warmUp(pid, () => floodHttp(random));
    let sent = 0;
    for (let round = 0; round < ROUNDS; round += 1) sent += await floodHttp(random);

    expectAllCorrect(await client.stop());
    expect(isAlive(pid)).toBe(true);
    expect((await fetch(`${direct}/healthz`)).status).toBe(200);
    expect((await fetch(`${direct}/readyz`)).status).toBe(200);
    expect(sent).toBeGreaterThan(3 * GROWTH_BOUND);
    expect(rssBytes(pid) - rssWarm).toBeLessThan(GROWTH_BOUND);
  });
});
