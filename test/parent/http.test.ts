import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceError } from '../../shared/errors.js';
import type { EnclaveGateway, EnclaveStatus } from '../../parent/enclave-gateway.js';
import { createLogger } from '../../parent/log.js';
import { systemRoutes } from '../../parent/http/routes/system.js';
import { createApiServer, listen, type Route } from '../../parent/http/server.js';

const TOKEN = 'test-token-0123456789abcdef';
const lines: string[] = [];
let status: EnclaveStatus = { connected: false, ready: false };
const calls: { op: string; body: unknown }[] = [];
const gateway: EnclaveGateway = {
  status: () => status,
  call: async (op, body) => {
    calls.push({ op, body });
    if (!status.ready) throw new ServiceError('ERR_ENCLAVE_UNAVAILABLE', 'enclave not connected');
    return { document: new Uint8Array([0x84, 1, 2, 3]) };
  },
};
const echo: Route = {
  method: 'POST',
  path: '/v1/echo-size',
  auth: true,
  maxBodyBytes: 1024,
  handle: async ({ body }) => ({ body: { keys: Object.keys(body as object) } }),
};

let server: Server;
let base = '';

beforeAll(async () => {
  server = createApiServer({
    routes: [...systemRoutes(gateway), echo],
    apiTokens: [TOKEN],
    logger: createLogger({ write: (l) => lines.push(l) }),
  });
  base = (await listen(server, '127.0.0.1', 0)).url;
});
afterAll(() => server.close());

const auth = { authorization: `Bearer ${TOKEN}` };

async function req(path: string, init: RequestInit = {}) {
  const res = await fetch(base + path, init);
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

describe('parent HTTP API', () => {
  it('healthz is open; readyz follows the enclave state', async () => {
    expect((await req('/healthz')).json).toEqual({ status: 'ok' });
    status = { connected: false, ready: false };
    const down = await req('/readyz');
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe('ERR_ENCLAVE_UNAVAILABLE');
    status = { connected: true, ready: true };
    expect(await req('/readyz')).toMatchObject({ status: 200, json: { ready: true } });
  });

  it('requires the bearer token on /v1/*', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
      const r = await req('/v1/attestation', { headers });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('ERR_UNAUTHORIZED');
    }
  });

  it('returns the enclave document as base64 and validates the nonce', async () => {
    status = { connected: true, ready: true };
    const ok = await req('/v1/attestation?nonce=0a0b', { headers: auth });
    expect(ok.json).toEqual({ document: Buffer.from([0x84, 1, 2, 3]).toString('base64') });
    expect(calls.at(-1)).toEqual({ op: 'attestation', body: { nonce: Buffer.from([10, 11]) } });
    for (const bad of ['xyz', 'abc', 'ab'.repeat(1025)]) {
      const r = await req(`/v1/attestation?nonce=${bad}`, { headers: auth });
      expect(r.status, bad.slice(0, 8)).toBe(400);
    }
  });

  it('maps an unavailable enclave to a typed 503', async () => {
    status = { connected: false, ready: false };
    const r = await req('/v1/attestation', { headers: auth });
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ error: { code: 'ERR_ENCLAVE_UNAVAILABLE', message: 'enclave not connected' } });
  });

  it('rejects bad bodies with typed errors and never logs them', async () => {
    const post = (body: string, type = 'application/json') =>
      req('/v1/echo-size', { method: 'POST', headers: { ...auth, 'content-type': type }, body });
    expect((await post('{"a":1,"b":2}')).json).toEqual({ keys: ['a', 'b'] });
    const badJson = await post('{"pan":"4111111111111111"');
    expect(badJson.status).toBe(400);
    expect(JSON.stringify(badJson.json)).not.toContain('4111');
    expect((await post('{}', 'text/plain')).status).toBe(400);
    const big = await post(JSON.stringify({ x: 'y'.repeat(2000) }));
    expect(big).toMatchObject({ status: 413, json: { error: { code: 'ERR_BODY_TOO_LARGE' } } });
    expect(lines.join('')).not.toContain('4111');
    expect(lines.join('')).not.toContain('yyyy');
  });

  it('answers unknown paths and methods, and echoes safe request ids', async () => {
    expect((await req('/nope')).status).toBe(404);
    expect((await req('/v1/cards/4111111111111111')).status).toBe(404);
    expect(lines.join('')).not.toContain('4111111111111111');
    expect(lines.some((l) => l.includes('"path":"(unmatched)"'))).toBe(true);
    const wrong = await req('/healthz', { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    const withId = await req('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(withId.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await req('/healthz', { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(logged.some((l) => l.requestId === 'abc-123' && l.status === 200 && l.path === '/healthz')).toBe(true);
    expect(logged.every((l) => !String(l.path).includes('?'))).toBe(true);
  });
});

describe('requests the HTTP parser cannot read', () => {
  it('get a typed JSON 400, not a bare one', async () => {
    const net = await import('node:net');
    const { port } = new URL(base);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET example.com:443\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'ERR_BAD_REQUEST', message: 'malformed HTTP request' } });
  });
});
