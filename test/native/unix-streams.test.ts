/**
 * The native stream path (native/stream.c + shared/native/native-stream.ts) on AF_UNIX: the very
 * code connectVsock/listenVsock run, without needing a vsock peer.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { EnclaveKitError } from '../../shared/errors.js';
import { connectNativeUnix, listenNativeUnix, type NativeStream } from '../../shared/native/vsock.js';
import { addonMissing, closed, patternBytes, readAll, sha256, tempSocketDir, writeAllAndEnd } from './helpers.js';

const dir = tempSocketDir('ek-native-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sockPath = (): string => join(dir, `s${(n += 1)}.sock`);

async function expectTransportError(promise: Promise<unknown>, code: string, part: string): Promise<void> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnclaveKitError);
  expect((error as EnclaveKitError).code).toBe(code);
  expect((error as Error).message).toContain(part);
}

describe.skipIf(addonMissing)('native streams over AF_UNIX', () => {
  it('moves several MB both ways at once, checksummed', async () => {
    const path = sockPath();
    const up = patternBytes(6 * 1024 * 1024 + 13, 1);
    const down = patternBytes(5 * 1024 * 1024 + 7, 2);
    // Half-open on both ends: whoever finishes sending first must not cut the other short.
    const listener = await listenNativeUnix(
      path,
      (stream) => {
        // Read and write concurrently: neither side may wait for the other to finish.
        readAll(stream).then((data) => resolveServer(sha256(data)), rejectServer);
        writeAllAndEnd(stream, down).catch(rejectServer);
      },
      { allowHalfOpen: true },
    );
    let resolveServer!: (digest: string) => void;
    let rejectServer!: (error: unknown) => void;
    const serverSaw = new Promise<string>((resolve, reject) => {
      resolveServer = resolve;
      rejectServer = reject;
    });
    const client = await connectNativeUnix(path, { allowHalfOpen: true });
    const [clientSaw] = await Promise.all([readAll(client), writeAllAndEnd(client, up, 1_000_000)]);
    expect(sha256(clientSaw)).toBe(sha256(down));
    expect(clientSaw.length).toBe(down.length);
    expect(await serverSaw).toBe(sha256(up));
    await closed(client);
    await listener.close();
  });

  it('half-closes: the peer reads EOF and can still answer', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(
      path,
      (stream) => {
        void readAll(stream).then((request) => {
          // Our readable side ended; the writable side is still open (allowHalfOpen).
          stream.end(Buffer.concat([Buffer.from('got:'), request]));
        });
      },
      { allowHalfOpen: true },
    );
    const client = await connectNativeUnix(path, { allowHalfOpen: true });
    const reply = readAll(client);
    client.end('question');
    expect((await reply).toString()).toBe('got:question');
    await closed(client);
    await listener.close();
  });

  it('without allowHalfOpen, the peer’s EOF ends our side too (as net.Socket)', async () => {
    const path = sockPath();
    let serverStream: NativeStream | undefined;
    const listener = await listenNativeUnix(path, (stream) => {
      serverStream = stream;
      stream.resume();
    });
    const client = await connectNativeUnix(path);
    const clientEnd = readAll(client);
    client.end();
    expect((await clientEnd).length).toBe(0);
    await closed(client);
    expect(serverStream).toBeDefined();
    await closed(serverStream!);
    expect(serverStream!.writableEnded).toBe(true);
    await listener.close();
  });

  it('reports a vanished peer as ERR_CONNECTION_LOST on write', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.destroy());
    const client = await connectNativeUnix(path);
    const error = await new Promise<Error>((resolve) => {
      client.on('error', resolve);
      client.resume();
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!client.destroyed && client.write(chunk));
        if (!client.destroyed) client.once('drain', pump);
      };
      pump();
    });
    expect(error).toBeInstanceOf(EnclaveKitError);
    expect((error as EnclaveKitError).code).toBe('ERR_CONNECTION_LOST');
    expect(error.message).toMatch(/EPIPE|ECONNRESET/);
    await listener.close();
  });

  it('sees a peer that closes as EOF', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.end('bye'));
    const client = await connectNativeUnix(path);
    expect((await readAll(client)).toString()).toBe('bye');
    await closed(client);
    await listener.close();
  });

  it('applies backpressure: a reader that pauses holds the writer back, then everything arrives', async () => {
    const path = sockPath();
    let server: NativeStream | undefined;
    const accepted = new Promise<void>((resolve) => {
      void listenNativeUnix(path, (stream) => {
        server = stream;
        resolve();
      }).then((l) => afterAll(() => l.close()));
    });
    const client = await connectNativeUnix(path);
    await accepted;
    const data = patternBytes(16 * 1024 * 1024, 3);
    // Write everything at once, ignoring the `false` from write(): the bytes must queue in the
    // stream, since the server is not reading.
    const accepted2 = [];
    for (let offset = 0; offset < data.length; offset += 1 << 20) accepted2.push(client.write(data.subarray(offset, offset + (1 << 20))));
    // Give the event loop time to move what the kernel takes.
    for (let i = 0; i < 50; i += 1) await new Promise((r) => setImmediate(r));
    expect(accepted2.at(-1)).toBe(false);
    expect(client.writableNeedDrain).toBe(true);
    // The server has not read: the bytes wait in our queue, not in an unbounded native buffer.
    expect(client.writableLength).toBeGreaterThan(8 * 1024 * 1024);
    const received = readAll(server!);
    await new Promise<void>((resolve) => client.end(resolve));
    const got = await received;
    expect(got.length).toBe(data.length);
    expect(sha256(got)).toBe(sha256(data));
  });

  it('serves many connections at once', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.pipe(stream));
    const count = 120;
    const replies = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const client = await connectNativeUnix(path);
        const reply = readAll(client);
        client.end(patternBytes(1000 + i, i + 10));
        return sha256(await reply) === sha256(patternBytes(1000 + i, i + 10));
      }),
    );
    expect(replies.filter(Boolean)).toHaveLength(count);
    await listener.close();
  });

  it('leaks no file descriptors over many connection cycles', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.pipe(stream));
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    // One warm-up cycle so lazily created descriptors (thread pool, epoll) are already there.
    const warm = await connectNativeUnix(path);
    warm.end('x');
    await readAll(warm);
    await closed(warm);
    const before = openFds();
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const client = await connectNativeUnix(path);
          const reply = readAll(client);
          client.end('ping');
          expect((await reply).toString()).toBe('ping');
          await closed(client);
        }),
      );
    }
    // Server-side streams close on the event loop turn after the clients'.
    for (let i = 0; i < 20 && openFds() > before; i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(openFds()).toBe(before);
    await listener.close();
  });

  it('interoperates byte for byte with Node’s own net sockets in both roles', async () => {
    const data = patternBytes(3 * 1024 * 1024, 4);
    // Native client → net server.
    const path1 = sockPath();
    const netServer = createServer((socket: Socket) => socket.pipe(socket));
    await new Promise<void>((r) => netServer.listen(path1, r));
    const client = await connectNativeUnix(path1);
    const [echo] = await Promise.all([readAll(client), writeAllAndEnd(client, data)]);
    expect(sha256(echo)).toBe(sha256(data));
    await new Promise<void>((r) => netServer.close(() => r()));
    // net client → native listener.
    const path2 = sockPath();
    const listener = await listenNativeUnix(path2, (stream) => stream.pipe(stream));
    const netClient = netConnect({ path: path2 });
    await new Promise<void>((r) => netClient.once('connect', r));
    const [echo2] = await Promise.all([readAll(netClient), writeAllAndEnd(netClient, data)]);
    expect(sha256(echo2)).toBe(sha256(data));
    await listener.close();
  });

  it('carries TLS (as the enclave’s KMS tunnels do): tls.connect over a NativeStream', async () => {
    const keyFile = join(dir, 'tls.key');
    const certFile = join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' });
    const cert = readFileSync(certFile);
    const path = sockPath();
    const tlsServer = createTlsServer({ key: readFileSync(keyFile), cert }, (socket) => socket.pipe(socket));
    // The native listener hands each raw stream to the TLS server. A TLS server over a JS Duplex
    // needs allowHalfOpen: it goes on writing after the client's close_notify + FIN (net sockets
    // get away without it because TLSWrap reads their handle, below the JS auto-end).
    const listener = await listenNativeUnix(path, (stream) => tlsServer.emit('connection', stream), { allowHalfOpen: true });
    const raw = await connectNativeUnix(path);
    const secure = tlsConnect({ socket: raw, ca: cert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    expect(secure.authorized).toBe(true);
    const data = patternBytes(1024 * 1024, 6);
    const [echo] = await Promise.all([readAll(secure), writeAllAndEnd(secure, data)]);
    expect(sha256(echo)).toBe(sha256(data));
    await listener.close();
  });

  it('reports addresses of both ends', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.end());
    const client = await connectNativeUnix(path);
    expect(client.remoteAddress).toEqual({ family: 'unix', path });
    await readAll(client);
    await listener.close();
  });

  it('fails connects and listens with ERR_TRANSPORT naming the errno', async () => {
    await expectTransportError(connectNativeUnix(join(dir, 'absent.sock')), 'ERR_TRANSPORT', 'ENOENT');
    const stale = sockPath();
    writeFileSync(stale, '');
    await expectTransportError(connectNativeUnix(stale), 'ERR_TRANSPORT', 'ECONNREFUSED');
    await expectTransportError(connectNativeUnix(`/tmp/${'x'.repeat(200)}`), 'ERR_TRANSPORT', 'failed');
    const busy = sockPath();
    const listener = await listenNativeUnix(busy, () => undefined);
    await expectTransportError(listenNativeUnix(busy, () => undefined), 'ERR_TRANSPORT', 'EADDRINUSE');
    await listener.close();
  });

  it('removes the socket file on close and accepts nothing afterwards', async () => {
    const path = sockPath();
    const listener = await listenNativeUnix(path, (stream) => stream.end());
    await listener.close();
    await listener.close();
    await expectTransportError(connectNativeUnix(path), 'ERR_TRANSPORT', 'ENOENT');
  });

  it('destroying a stream mid-transfer closes it cleanly on both ends', async () => {
    const path = sockPath();
    let server: NativeStream | undefined;
    const serverClosed = new Promise<void>((resolve) => {
      void listenNativeUnix(path, (stream) => {
        server = stream;
        stream.on('error', () => undefined);
        stream.resume();
        stream.once('close', () => resolve());
      }).then((l) => afterAll(() => l.close()));
    });
    const client = await connectNativeUnix(path);
    client.write(patternBytes(2 * 1024 * 1024, 5));
    client.destroy();
    await closed(client);
    await serverClosed;
    expect(server!.destroyed).toBe(true);
    expect(client.destroyed).toBe(true);
  });
});
