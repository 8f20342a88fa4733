/**
 * Fuzzing every HTTP endpoint of a running parent (real stack: parent and enclave processes),
 * with random JSON values, random bytes, and bodies shaped like each route's contract but filled
 * with random values (some of them real sealed cards, so that successes are checked too).
 * Endpoints are read from the parent's own /v1/openapi.json, joined with the card API's paths, so
 * a new endpoint is fuzzed as soon as it is documented.
 *
 * Property: every answer comes within a bounded time and is either a success of the documented
 * shape or a typed error (`{error: {code, message}}`, a code of shared/errors.ts, its own HTTP
 * status); the parent and the enclave stay up and keep serving. Unhandled rejections in this
 * process fail the run (vitest); in the child processes they would end them (checked).
 * Count: ENCLAVEKIT_FUZZ_RUNS requests in all (test/fuzz/runs.ts).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../shared/errors.js';
import { startStack, type Stack } from '../e2e/stack.js';
import { esdkProducer, type Producer } from '../e2e/producer.js';
import { isAlive, parentPid } from '../faults/helpers.js';
import { fuzzParams } from './runs.js';

const CARD_PATHS = ['/v1/cards/tokenize', '/v1/cards/tokenize-batch', '/v1/cards/detokenize-to', '/v1/pii/redact', '/v1/pii/blind-index'];
/** Served but not in the API document (the Prometheus scrape). */
const UNDOCUMENTED = [{ method: 'GET' as const, path: '/metrics' }];
/** Per request: far above any answer's time, far below a hang. */
const REQUEST_TIMEOUT_MS = 20_000;

let stack: Stack;
let producer: Producer;
let direct: string;
let endpoints: { method: 'GET' | 'POST'; path: string }[];
/** Real sealed inputs: ESDK cards (tokenize answers), and PII text (redact, blind-index). */
const sealedCards: string[] = [];
const sealedPii: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  for (const pan of ['4111111111111111', '5555555555554444']) sealedCards.push(await producer.sealCard({ pan, exp: '12/39' }));
  sealedPii.push(await producer.seal('ada@example.com', { purpose: 'pii-value', field: 'email' }), await producer.seal('call 555-0100', { purpose: 'pii-text' }));
  direct = readFileSync(path.join(stack.dir, 'run', 'parent.url'), 'utf8').trim();
  const openapi = (await stack.api('/v1/openapi.json')).json as { paths?: Record<string, Record<string, unknown>> };
  const documented = Object.entries(openapi.paths ?? {}).flatMap(([p, ops]) =>
    Object.keys(ops)
      .filter((m) => m === 'get' || m === 'post')
      .map((m) => ({ method: m.toUpperCase() as 'GET' | 'POST', path: p })),
  );
  const all = [...documented, ...CARD_PATHS.map((p) => ({ method: 'POST' as const, path: p })), ...UNDOCUMENTED];
  endpoints = all.filter((e, i) => all.findIndex((o) => o.method === e.method && o.path === e.path) === i);
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
});

const b64 = fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u).toString('base64'));
const anyString = fc.oneof(b64, fc.string({ maxLength: 40 }), fc.constantFrom('', '====', 'A', '\u0000', '%00', '${x}'));
const enc32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u).toString('base64'));
/** Sealed-input shapes: well-formed envelopes with random contents (they reach the enclave) and worse. */
const sealed = fc.oneof(
  { weight: 3, arbitrary: b64.map((esdk) => ({ esdk })) },
  { weight: 2, arbitrary: fc.record({ hpke: fc.record({ enc: enc32, ciphertext: b64, sender: enc32 }, { requiredKeys: ['enc', 'ciphertext'] }) }) },
  { weight: 1, arbitrary: fc.record({ hpke: fc.record({ enc: anyString, ciphertext: anyString, sender: anyString }, { requiredKeys: [] }) }) },
  { weight: 1, arbitrary: anyString.map((esdk) => ({ esdk })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A body for `path`: the contract's shape with random values, or anything at all. */
function bodyFor(pathname: string): fc.Arbitrary<{ kind: 'json'; value: unknown } | { kind: 'bytes'; value: Uint8Array }> {
  const realCard = fc.constantFrom(...sealedCards).map((esdk) => ({ esdk }));
  const realPii = fc.constantFrom(...sealedPii).map((esdk) => ({ esdk }));
  const card = fc.oneof({ weight: 3, arbitrary: sealed }, { weight: 1, arbitrary: realCard });
  const pii = fc.oneof({ weight: 3, arbitrary: sealed }, { weight: 1, arbitrary: realPii });
  const shaped: Record<string, fc.Arbitrary<unknown>> = {
    '/v1/cards/tokenize': fc.record({ card }, { requiredKeys: [] }),
    '/v1/cards/tokenize-batch': fc.record({ cards: fc.array(card, { minLength: 1, maxLength: 6 }) }),
    '/v1/cards/detokenize-to': fc.record({ token: fc.oneof(fc.stringMatching(/^\d{12,19}$/), anyString, fc.integer()), recipient: anyString }, { requiredKeys: [] }),
    '/v1/pii/redact': fc.record({ text: pii }),
    '/v1/pii/blind-index': fc.record({ field: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('email', 'phone', 'ssn', 'name') }, anyString), values: fc.array(pii, { minLength: 1, maxLength: 6 }) }, { requiredKeys: [] }),
  };
  return fc.oneof(
    { weight: 3, arbitrary: (shaped[pathname] ?? fc.jsonValue()).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((value) => ({ kind: 'bytes' as const, value })) },
  );
}

const query = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^[0-9a-f]{0,64}$/).map((h) => `?nonce=${h}`),
  fc.string({ maxLength: 30 }).map((s) => `?nonce=${encodeURIComponent(s)}`),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}&nonce=&nonce=zz`),
  fc.constant(`?nonce=${'ab'.repeat(1025)}`),
);

interface Answer {
  status: number;
  json: unknown;
}

function expectTyped(answer: Answer, what: string): void {
  const body = answer.json as { error?: { code?: unknown; message?: unknown } } | null;
  expect(body !== null && typeof body === 'object' && Object.keys(body).join() === 'error', `${what}: ${answer.status} ${JSON.stringify(answer.json).slice(0, 200)}`).toBe(true);
  const code = body!.error!.code;
  expect(isErrorCode(code), `${what}: code ${String(code)}`).toBe(true);
  expect(typeof body!.error!.message).toBe('string');
  expect(answer.status, what).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
}

/** A per-item outcome of a batch: a token result or a typed error. */
function expectItem(item: unknown, what: string): void {
  const i = item as { error?: unknown; token?: unknown; digest?: unknown };
  if (i.error !== undefined) expectTyped({ status: ERROR_CODES[(i.error as { code: keyof typeof ERROR_CODES }).code]?.status ?? 0, json: { error: i.error } }, what);
  else expect(typeof i.token === 'string' || typeof i.digest === 'string', `${what}: item ${JSON.stringify(item)}`).toBe(true);
}

describe('HTTP endpoints fuzz', () => {
  it('every endpoint answers random input with a documented success or a typed error, and the stack stays up', async () => {
    expect(endpoints.map((e) => `${e.method} ${e.path}`)).toEqual(expect.arrayContaining(['GET /healthz', 'GET /v1/attestation', ...CARD_PATHS.map((p) => `POST ${p}`)]));
    const enclavePid = stack.enclave().pid;
    const pid = parentPid(stack);
    const seen = new Map<string, number>();
    type Body = { kind: 'json'; value: unknown } | { kind: 'bytes'; value: Uint8Array } | undefined;
    type Request = { endpoint: { method: string; path: string }; query: string; body: Body };
    const known = fc.integer({ min: 0, max: endpoints.length - 1 }).chain((i): fc.Arbitrary<Request> => {
      const endpoint = endpoints[i]!;
      return endpoint.method === 'GET'
        ? fc.record({ endpoint: fc.constant(endpoint), query, body: fc.constant<Body>(undefined) })
        : fc.record({ endpoint: fc.constant(endpoint), query: fc.constant(''), body: bodyFor(endpoint.path) as fc.Arbitrary<Body> });
    });
    // Other methods on known paths, and paths that do not exist.
    const stray: fc.Arbitrary<Request> = fc.record({
      endpoint: fc.record({
        method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'GET', 'POST'),
        path: fc.oneof(fc.constantFrom(...endpoints.map((e) => e.path)), fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)), fc.constantFrom('/v1/', '/v1/cards', '/V1/CARDS/TOKENIZE', '/healthz/')),
      }),
      query: fc.constant(''),
      body: fc.constant<Body>(undefined),
    });
    const request = fc.oneof({ weight: 9, arbitrary: known }, { weight: 1, arbitrary: stray });
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom('good', 'good', 'good', 'good', 'good', 'good', 'good', 'good', 'none', 'wrong'), async ({ endpoint, query: q, body }, auth) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (auth !== 'none') headers['authorization'] = `Bearer ${auth === 'good' ? stack.apiToken : 'not-the-token-0123456789'}`;
        if (endpoint.method === 'PATCH' && body === undefined) headers['content-length'] = '0';
        const res = await fetch(direct + endpoint.path + q, {
          method: endpoint.method,
          headers,
          ...(body === undefined ? {} : { body: body.kind === 'json' ? JSON.stringify(body.value) ?? 'null' : body.value }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          // /metrics answers text; anything else must be JSON (checked below)
        }
        const what = `${endpoint.method} ${endpoint.path}${q}`;
        seen.set(`${endpoint.method} ${endpoint.path} ${res.status}`, (seen.get(`${endpoint.method} ${endpoint.path} ${res.status}`) ?? 0) + 1);
        if (res.status >= 400) {
          expectTyped({ status: res.status, json }, what);
          return;
        }
        expect(res.status, what).toBe(200);
        const r = json as Record<string, unknown>;
        switch (endpoint.path) {
          case '/v1/cards/tokenize':
            expect(r['token'], what).toMatch(/^\d{12,19}$/);
            break;
          case '/v1/cards/tokenize-batch':
          case '/v1/pii/blind-index':
            expect(Array.isArray(r['results']), what).toBe(true);
            for (const item of r['results'] as unknown[]) expectItem(item, what);
            break;
          case '/v1/pii/redact':
            expect(typeof r['text'], what).toBe('string');
            break;
          case '/v1/attestation':
            expect(typeof r['document'], what).toBe('string');
            break;
          default:
            break;
        }
      }),
      { ...fuzzParams(), endOnFailure: true },
    );

    // Real sealed inputs reached the enclave and came back as results, not only refusals.
    expect(seen.get('POST /v1/cards/tokenize 200') ?? 0).toBeGreaterThan(0);
    expect(isAlive(enclavePid)).toBe(true);
    expect(stack.enclave().exitCode).toBeNull();
    expect(isAlive(pid)).toBe(true);
    expect((await stack.api('/readyz')).status).toBe(200);
    const after = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: sealedCards[0] } }) });
    expect(after.status).toBe(200);
  });

  it('request targets that are not plain paths get typed answers (one used to end the parent)', async () => {
    const pid = parentPid(stack);
    const port = Number(new URL(direct).port);
    /** Sends one raw request line and returns the status and body of the answer. */
    const raw = (target: string): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        socket.on('error', reject);
        socket.on('end', () => {
          const [head, body = ''] = text.split('\r\n\r\n');
          let json: unknown = null;
          try {
            json = JSON.parse(body);
          } catch {
            // no JSON body: Node's own answer to a request line its parser refuses
          }
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]), json });
        });
        socket.write(`GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${stack.apiToken}\r\nconnection: close\r\n\r\n`);
      });
    const cases: [string, number][] = [
      ['//%zz', 404],
      ['//[', 404],
      ['//%F2%A5%8D%B9//G//h/I/', 404],
      ['//healthz', 404], // a path, not a host named "healthz" with the path "/"
      ['//v1/healthz', 404],
      ['http://elsewhere.example/healthz', 200], // absolute-form: its path and query
      ['*', 400],
    ];
    for (const [target, status] of cases) {
      const answer = await raw(target);
      expect(answer.status, target).toBe(status);
      if (status !== 200) expectTyped(answer, target);
    }
    // The authority-form is refused by Node's HTTP parser itself, before the API sees it: a bare
    // 400 without a JSON body (a protocol error, not an API answer).
    expect((await raw('example.com:443')).status).toBe(400);
    expect(isAlive(pid)).toBe(true);
    expect((await fetch(`${direct}/healthz`)).status).toBe(200);
  });
});
