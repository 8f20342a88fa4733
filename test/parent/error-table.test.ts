/**
 * The error table's edges, each by the behaviour a client sees: oversized headers are 431 with
 * their own code (not the body's 413 code); the parent config's maxBodyBytes is the body limit of
 * the running parent; a malformed CiphertextForRecipient is KMS's bad answer (a ServiceError, 502),
 * not the caller's input. (A wrong wrapped key from the parent: test/e2e/wrapped-keys.test.ts.)
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParentConfig } from '../../parent/config.js';
import { createLogger } from '../../parent/log.js';
import { startParent, type RunningParent } from '../../parent/runtime.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { ERROR_CODES, InputError, ServiceError } from '../../shared/errors.js';

const TOKEN = 'error-table-token-0123456789';
const MAX_BODY = 2048;
let parent: RunningParent;

beforeAll(async () => {
  const config = parseParentConfig({
    apiTokens: [TOKEN],
    enclaves: ['ws://127.0.0.1:9/never'],
    region: 'us-east-1',
    http: { host: '127.0.0.1', port: 0 },
    proxy: { listen: 'ws://127.0.0.1:0' },
    maxBodyBytes: MAX_BODY,
  });
  parent = await startParent({
    config,
    // No enclave ever connects: the requests below are answered by the parent's edge alone.
    connectChannel: () => Promise.reject(new Error('no enclave in this test')),
    listenStreams: async () => ({ close: () => undefined }),
    extraRoutes: (gateway) => cardRoutes(gateway),
    logger: createLogger({ write: () => undefined }),
  });
});
afterAll(async () => parent?.close());

const tokenize = (body: string) =>
  fetch(`${parent.url}/v1/cards/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body }).then(async (r) => ({
    status: r.status,
    json: (await r.json()) as { error?: { code: string; message: string } },
  }));

/** Sends raw bytes and reads the whole answer (the server closes after a refused request). */
function raw(request: string): Promise<string> {
  const { port } = new URL(parent.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the error table at the edge', () => {
  it('oversized headers: 431 ERR_HEADERS_TOO_LARGE, as the table says', async () => {
    const answer = await raw(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'ERR_HEADERS_TOO_LARGE', message: expect.stringMatching(/^request headers exceed \d+ bytes$/) } });
    expect(ERROR_CODES.ERR_HEADERS_TOO_LARGE.status).toBe(431);
    expect(ERROR_CODES.ERR_BODY_TOO_LARGE.status).toBe(413);
  });

  it('parent.maxBodyBytes is the body limit: one byte over is 413, at the limit the body is read', async () => {
    const body = (size: number) => JSON.stringify({ card: { esdk: 'A'.repeat(size - 20) } }).padEnd(size, ' ');
    expect(body(MAX_BODY + 1)).toHaveLength(MAX_BODY + 1);
    const over = await tokenize(body(MAX_BODY + 1));
    expect(over).toEqual({ status: 413, json: { error: { code: 'ERR_BODY_TOO_LARGE', message: `request body exceeds ${MAX_BODY} bytes` } } });
    // At the limit the body passes the reader and the shape check; no enclave is connected.
    const at = await tokenize(body(MAX_BODY));
    expect(at.status).toBe(503);
    expect(at.json.error?.code).toBe('ERR_ENCLAVE_UNAVAILABLE');
  });

  it('a malformed CiphertextForRecipient is KMS answering badly: ServiceError ERR_CMS_MALFORMED, 502', () => {
    let thrown: unknown;
    try {
      parseCiphertextForRecipient(Uint8Array.of(0x30, 0x80, 0x00, 0x00));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ServiceError);
    expect(thrown).not.toBeInstanceOf(InputError);
    expect(thrown).toMatchObject({ code: 'ERR_CMS_MALFORMED', status: 502 });
  });
});
