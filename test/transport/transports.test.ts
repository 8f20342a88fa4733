/**
 * Every transport kind end to end on loopback and temp dirs: RPC over framed channels in both
 * directions, raw byte streams, and connection loss. The native Unix path stands in for vsock
 * (same addon code, another address family); a real vsock://1 loopback runs when the kernel has it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ProtocolError } from '../../shared/errors.js';
import type { FrameChannel } from '../../shared/protocol/channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import {
  connectChannel,
  listenChannels,
  listenStreams,
  openStream,
  type ChannelListener,
  type StreamListener,
} from '../../shared/transport/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ek-transport-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Whether the native addon is built (the vsock code path needs it). */
async function nativeUnavailableReason(): Promise<string | null> {
  const path = join(mkdtempSync(join(tmpdir(), 'ek-native-')), 'probe.sock');
  try {
    const l = await listenStreams(`unix://${path}`, (s) => s.destroy(), { native: true });
    await l.close();
    return null;
  } catch (error) {
    return `native addon unavailable: ${(error as Error).message}`;
  }
}
const nativeReason = await nativeUnavailableReason();
if (nativeReason !== null) console.warn(`skipping native-path transport tests: ${nativeReason}`);

interface Kind {
  name: string;
  url: () => string;
  native?: boolean;
  skip?: string | null;
}
let counter = 0;
const kinds: Kind[] = [
  { name: 'tcp', url: () => 'tcp://127.0.0.1:0' },
  { name: 'tcp over IPv6 loopback', url: () => 'tcp://[::1]:0', skip: net.isIPv6('::1') ? null : 'no IPv6' },
  { name: 'unix', url: () => `unix://${dir}/u${++counter}.sock` },
  { name: 'ws', url: () => 'ws://127.0.0.1:0/rpc' },
  { name: 'ws+unix', url: () => `ws+unix://${dir}/w${++counter}.sock:/rpc` },
  { name: 'native unix (the vsock code path)', url: () => `unix://${dir}/n${++counter}.sock`, native: true, skip: nativeReason },
];

async function serve(kind: Kind, onChannel: (c: FrameChannel) => void): Promise<ChannelListener> {
  const listener = await listenChannels(kind.url(), onChannel, kind.native === true ? { native: true } : {});
  cleanups.push(() => listener.close());
  return listener;
}

async function connect(kind: Kind, url: string): Promise<FrameChannel> {
  const channel = await connectChannel(url, kind.native === true ? { native: true } : {});
  cleanups.push(() => channel.close());
  return channel;
}

for (const kind of kinds) {
  describe.skipIf(kind.skip !== undefined && kind.skip !== null)(`transport ${kind.name}`, () => {
    it('carries RPC both ways, 200 requests concurrently, bytes intact', async () => {
      const serverPeers: RpcPeer[] = [];
      const listener = await serve(kind, (channel) => {
        serverPeers.push(
          new RpcPeer(channel, {
            handlers: {
              reverse: (body) => Buffer.from(body as Buffer).reverse(),
              askBack: async (_body, ctx) => ctx.peer.request('whoami', null),
            },
          }),
        );
      });
      const client = new RpcPeer(await connect(kind, listener.url), { handlers: { whoami: () => 'client' } });
      const inputs = Array.from({ length: 200 }, (_, i) => Buffer.from([i & 0xff, (i * 7) & 0xff, 0, 255]));
      const outputs = await Promise.all(inputs.map((b) => client.request('reverse', b)));
      outputs.forEach((out, i) => expect(Buffer.from(out as Buffer).equals(Buffer.from(inputs[i]!).reverse())).toBe(true));
      expect(await client.request('askBack', null)).toBe('client');
      expect(serverPeers).toHaveLength(1);
    });

    it('fails pending requests with ERR_CONNECTION_LOST when the server side drops the link', async () => {
      let serverChannel: FrameChannel | undefined;
      let started = 0;
      const listener = await serve(kind, (channel) => {
        serverChannel = channel;
        new RpcPeer(channel, {
          handlers: {
            hang: () => {
              started++;
              return new Promise(() => {});
            },
          },
        });
      });
      const client = new RpcPeer(await connect(kind, listener.url));
      const pending = Array.from({ length: 20 }, () => client.request('hang', null, { deadlineMs: 60_000 }));
      await expect.poll(() => started).toBe(20);
      serverChannel!.close();
      for (const result of await Promise.allSettled(pending)) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_CONNECTION_LOST' });
      }
      expect(client.closed).toBe(true);
    });

    it('relays raw byte streams (openStream/listenStreams) in both directions', async () => {
      const listener: StreamListener = await listenStreams(kind.url(), (s) => s.pipe(s), kind.native === true ? { native: true } : {});
      cleanups.push(() => listener.close());
      const stream = await openStream(listener.url, kind.native === true ? { native: true } : {});
      cleanups.push(() => stream.destroy());
      const sent = Buffer.alloc(300_000);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 131) & 0xff;
      const received: Buffer[] = [];
      let total = 0;
      const done = new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => {
          received.push(chunk);
          total += chunk.length;
          if (total >= sent.length) resolve();
        });
      });
      stream.write(sent);
      await done;
      expect(Buffer.concat(received).equals(sent)).toBe(true);
    });
  });
}

describe('byte-stream framing on a real socket', () => {
  it('reassembles frames written one byte at a time, skips oversized and empty frames, and keeps serving', async () => {
    const channels: FrameChannel[] = [];
    const listener = await listenChannels(
      'tcp://127.0.0.1:0',
      (channel) => {
        channels.push(channel);
        new RpcPeer(channel, { handlers: { echo: (body) => body } });
      },
      { maxFrameBytes: 64 },
    );
    cleanups.push(() => listener.close());
    const { encodeRequest, decodeMessage } = await import('../../shared/protocol/messages.js');
    const { encodeFrame, encodeFrameHeader } = await import('../../shared/protocol/frame-encoder.js');
    const { FrameDecoder } = await import('../../shared/protocol/frame-decoder.js');
    const socket = (await openStream(listener.url)) as net.Socket;
    cleanups.push(() => socket.destroy());
    const replies: unknown[] = [];
    const decoder = new FrameDecoder({ onFrame: (p) => replies.push(decodeMessage(p)), onError: () => {} });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));

    const bytes = Buffer.concat([
      encodeFrameHeader(1000), Buffer.alloc(1000, 0x41), // oversized: refused from its header, skipped
      encodeFrameHeader(0), // empty
      encodeFrame(encodeRequest(1, 'echo', 5000, 'hi')),
    ]);
    for (let i = 0; i < bytes.length; i += 97) {
      socket.write(bytes.subarray(i, i + 97));
      await new Promise((r) => setImmediate(r));
    }
    const tail = encodeFrame(encodeRequest(2, 'echo', 5000, 'byte by byte'));
    for (const b of tail) {
      socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => replies.length).toBe(2);
    expect(replies).toEqual([
      { kind: 'reply', id: 1, ok: true, body: 'hi' },
      { kind: 'reply', id: 2, ok: true, body: 'byte by byte' },
    ]);
    expect(channels[0]!.stats.frameErrors).toBe(2);
    expect(channels[0]!.closed).toBe(false);
  });
});

describe('WebSocket specifics', () => {
  async function wsServer(maxFrameBytes?: number): Promise<{ listener: ChannelListener; channels: FrameChannel[] }> {
    const channels: FrameChannel[] = [];
    const listener = await listenChannels(
      'ws://127.0.0.1:0/rpc',
      (channel) => {
        channels.push(channel);
        new RpcPeer(channel, { handlers: { echo: (body) => body } });
      },
      maxFrameBytes === undefined ? {} : { maxFrameBytes },
    );
    cleanups.push(() => listener.close());
    return { listener, channels };
  }

  it('counts a text message as a frame error and keeps the link', async () => {
    const { listener, channels } = await wsServer();
    const ws = new WebSocket(listener.url.replace(/^ws:/, 'ws:'));
    cleanups.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    ws.send('not binary');
    await expect.poll(() => channels[0]?.stats.frameErrors).toBe(1);
    expect(channels[0]!.closed).toBe(false);
  });

  it('closes the link on a message over the frame limit (ws refuses it from its header)', async () => {
    const { listener, channels } = await wsServer(1024);
    const client = new RpcPeer(await connectChannel(listener.url));
    cleanups.push(() => client.close());
    expect(await client.request('echo', 'small')).toBe('small');
    // A peer ignoring the limit: bypass our own sender-side check with a raw socket.
    const ws = new WebSocket(listener.url);
    cleanups.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(Buffer.alloc(2048, 1));
    expect(await closed).toBe(1009);
    await expect.poll(() => channels[1]?.closed).toBe(true);
    expect(client.closed).toBe(false); // other connections are unaffected
  });

  it('answers plain HTTP with 426 and refuses other paths', async () => {
    const { listener } = await wsServer();
    const port = Number(new URL(listener.url.replace(/^ws:/, 'http:')).port);
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/rpc' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(426);
    await expect(connectChannel(`ws://127.0.0.1:${port}/other`)).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });
});

describe('transport failures', () => {
  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    return port;
  }

  it('reports refused connections as ERR_TRANSPORT for every kind', async () => {
    const port = await closedPort();
    const urls = [`tcp://127.0.0.1:${port}`, `unix://${dir}/nobody.sock`, `ws://127.0.0.1:${port}/x`, `ws+unix://${dir}/nobody.sock:/x`];
    for (const url of urls) {
      const error = await connectChannel(url, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(ProtocolError);
      expect(error, url).toMatchObject({ code: 'ERR_TRANSPORT' });
      await expect(openStream(url, { timeoutMs: 2000 }), url).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    }
    await expect(connectChannel('ftp://x:1')).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    await expect(openStream('tcp://127.0.0.1:0')).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });

  it.skipIf(nativeReason !== null)('reports a refused native (vsock path) connection as ERR_TRANSPORT', async () => {
    await expect(openStream(`unix://${dir}/nobody-native.sock`, { native: true, timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });

  it('replaces a stale Unix socket left by a killed process, but never a regular file', async () => {
    const path = join(dir, 'stale.sock');
    // A child that binds the socket and is killed before it can unlink it.
    const child = spawnSync(
      process.execPath,
      ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`],
      { stdio: 'ignore', timeout: 10_000 },
    );
    expect(child.signal).toBe('SIGKILL');
    expect(existsSync(path)).toBe(true);
    const listener = await listenStreams(`unix://${path}`, (s: Duplex) => s.end('ok'));
    cleanups.push(() => listener.close());
    const stream = await openStream(`unix://${path}`);
    const text = await new Promise<string>((resolve) => {
      let got = '';
      stream.on('data', (c: Buffer) => (got += c.toString()));
      stream.on('end', () => resolve(got));
    });
    expect(text).toBe('ok');

    const file = join(dir, 'data.txt');
    writeFileSync(file, 'precious');
    await expect(listenStreams(`unix://${file}`, () => {})).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(readFileSync(file, 'utf8')).toBe('precious');
  });

  it('refuses to listen where a live server already listens', async () => {
    const url = `unix://${dir}/busy.sock`;
    const first = await listenStreams(url, () => {});
    cleanups.push(() => first.close());
    await expect(listenStreams(url, () => {})).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });
});

// Loopback on CID 1 (VMADDR_CID_LOCAL) needs the vsock_loopback kernel module; never another CID.
const loopback = await (async (): Promise<{ listener: ChannelListener; channels: FrameChannel[] } | string> => {
  if (nativeReason !== null) return nativeReason;
  const channels: FrameChannel[] = [];
  let listener: ChannelListener;
  try {
    listener = await listenChannels('vsock://any:0', (c) => {
      channels.push(c);
      new RpcPeer(c, { handlers: { ping: () => 'pong' } });
    });
  } catch (error) {
    return `cannot listen on vsock: ${(error as Error).message}`;
  }
  try {
    const probe = await connectChannel(listener.url.replace('vsock://any:', 'vsock://1:'), { timeoutMs: 2000 });
    probe.close();
  } catch (error) {
    await listener.close();
    return `no vsock loopback: ${(error as Error).message}`;
  }
  return { listener, channels };
})();
if (typeof loopback === 'string') console.warn(`skipping vsock://1 loopback test: ${loopback}`);
describe('vsock', () => {
  it.skipIf(nativeReason !== null)('refuses vsock URLs it cannot use before touching a socket', async () => {
    await expect(connectChannel('vsock://any:5000')).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    await expect(connectChannel('vsock://1:0')).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
  });

  afterAll(async () => {
    if (typeof loopback !== 'string') await loopback.listener.close();
  });

  it.skipIf(typeof loopback === 'string')('carries RPC over vsock://1 loopback', async () => {
    if (typeof loopback === 'string') return;
    const client = new RpcPeer(await connectChannel(loopback.listener.url.replace('vsock://any:', 'vsock://1:'), { timeoutMs: 2000 }));
    cleanups.push(() => client.close());
    expect(await client.request('ping', null)).toBe('pong');
  });
});
