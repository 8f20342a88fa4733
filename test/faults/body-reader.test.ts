/**
 * The parent's body reader under hostile uploads, in process: a refused body is drained, so its
 * connection stays usable and the client reads the 413; a body the client abandons settles the
 * reader with a typed error (it used to surface as an untyped 'aborted', i.e. ERR_INTERNAL).
 *
 * The stuck-connection defect itself (a `for await` left early destroyed the request without
 * draining it) is reproduced by test/faults/flood.test.ts, which runs the built parent: under the
 * test runner's own transform the old reader did not show it in process.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonBody } from '../../parent/http/body.js';
import { EnclaveKitError } from '../../shared/errors.js';

const LIMIT = 4 * 1024 * 1024;
let server: http.Server;
let base: string;
const settled: { code: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const reply = (status: number, value: unknown): void => {
      const text = JSON.stringify(value);
      if (!res.destroyed) res.writeHead(status, { 'content-length': Buffer.byteLength(text) }).end(text);
    };
    readJsonBody(req, LIMIT).then(
      (body) => reply(200, { ok: true, body }),
      (error: unknown) => {
        const code = error instanceof EnclaveKitError ? error.code : 'untyped';
        settled.push({ code });
        reply(error instanceof EnclaveKitError ? error.status : 500, { code });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('readJsonBody', () => {
  it('streamed bodies over the limit get 413, and their connections then serve later requests', async () => {
    const post = async (body: NonNullable<RequestInit['body']>): Promise<number> => {
      const init: RequestInit & { duplex: 'half' } = { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) };
      const res = await fetch(base, init);
      await res.arrayBuffer();
      return res.status;
    };
    const streamed = (): ReadableStream<Uint8Array> => {
      let left = LIMIT + 1024 * 1024;
      return new ReadableStream({
        pull(controller) {
          const n = Math.min(left, 256 * 1024);
          left -= n;
          if (n > 0) controller.enqueue(new Uint8Array(n).fill(0x5b));
          else controller.close();
        },
      });
    };
    expect(await Promise.all(Array.from({ length: 6 }, () => post(streamed())))).toEqual(Array(6).fill(413));
    // fetch reuses the keep-alive connections of the refused uploads for these.
    expect(await Promise.all(Array.from({ length: 12 }, () => post('[]')))).toEqual(Array(12).fill(200));
  });

  it('a declared body over the limit gets 413 before it is read, also through fetch while still uploading', async () => {
    const res = await fetch(base, { method: 'POST', body: Buffer.alloc(8 * LIMIT, 0x20), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ code: 'ERR_BODY_TOO_LARGE' });
  });

  it('a client that leaves in the middle of the body settles the reader with a typed error', async () => {
    const before = settled.length;
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"a":');
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    const deadline = Date.now() + 5_000;
    while (settled.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(settled.slice(before)).toEqual([{ code: 'ERR_BAD_REQUEST' }]);
  });
});
