/**
 * WebSocket transports (the `ws` library): a FrameChannel with one binary message per frame
 * (docs/architecture.md "Wire protocol"), and raw byte streams over WebSocket for tunnels.
 *
 * Both ends set `maxPayload` to the frame limit, so `ws` refuses an oversized message from its
 * header without buffering it. Unlike the byte-stream framing, which can skip an oversized
 * frame, `ws` then closes the connection (status 1009): a WebSocket peer that sends one loses its
 * link. Compression is off: frames carry ciphertext and tokens, where it gains nothing and
 * compressing secrets next to attacker-chosen data is how CRIME-style leaks start.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, createWebSocketStream, type RawData } from 'ws';
import { ProtocolError } from '../errors.js';
import { BaseFrameChannel } from '../protocol/channel-base.js';
import type { FrameChannelOptions } from '../protocol/channel.js';
import { CLOSE_GRACE_MS } from './stream-channel.js';
import { closeServer, listenServer, trackConnections, type ListenTarget } from './net-listen.js';
import { formatTransportUrl } from './url.js';

export type WsAddress = { kind: 'ws'; host: string; port: number; path: string } | { kind: 'ws+unix'; socketPath: string; path: string };

const SEND_OPTIONS = { binary: true, compress: false } as const;

export class WsFrameChannel extends BaseFrameChannel {
  readonly peer: string;
  readonly #ws: WebSocket;
  readonly #onSent = (): void => this.checkDrain();

  /** `ws` must be open. Reading is paused until the first onFrame subscriber. */
  constructor(ws: WebSocket, options: FrameChannelOptions = {}, peer = 'websocket') {
    super(options);
    this.#ws = ws;
    this.peer = peer;
    ws.binaryType = 'nodebuffer';
    ws.pause();
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.deliverFrameError(new ProtocolError('ERR_FRAME_TOO_LARGE', `message exceeds the limit of ${this.maxFrameBytes} bytes`));
      }
      this.transportClosed('connection failed', error);
    });
    ws.on('close', (code: number) => this.transportClosed(`connection closed (WebSocket status ${code})`));
    if (ws.readyState !== WebSocket.OPEN) this.transportClosed('connection closed');
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  protected write(payload: Uint8Array): void {
    this.#ws.send(payload, SEND_OPTIONS, this.#onSent);
  }

  protected startReading(): void {
    this.#ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        this.deliverFrameError(new ProtocolError('ERR_FRAME_MALFORMED', 'text message on a binary channel'));
        return;
      }
      // binaryType 'nodebuffer': ws hands over one Buffer per message, fragments joined.
      const payload = data as Buffer;
      if (payload.length === 0) {
        this.deliverFrameError(new ProtocolError('ERR_FRAME_MALFORMED', 'empty frame'));
        return;
      }
      this.deliverFrame(payload);
    });
    this.#ws.resume();
  }

  protected closeTransport(graceful: boolean): void {
    const ws = this.#ws;
    if (!graceful || ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return;
    }
    ws.close(1000);
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }
}

function wsUrlOf(address: WsAddress): string {
  return address.kind === 'ws' ? formatTransportUrl(address) : `ws://localhost${address.path}`;
}

/** Opens a WebSocket (ERR_TRANSPORT on failure, refusal or timeout). */
export function connectWebSocket(address: WsAddress, options: { timeoutMs: number; maxPayload: number }): Promise<WebSocket> {
  const display = formatTransportUrl(address);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrlOf(address), {
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: options.timeoutMs,
      followRedirects: false,
      // ws+unix: connect to the socket path directly (ws's own IPC URL form would keep the
      // path percent-encoded).
      ...(address.kind === 'ws+unix' ? { createConnection: () => net.connect({ path: address.socketPath }) } : {}),
    });
    const fail = (why: string, cause?: unknown): void => {
      ws.removeAllListeners('open');
      ws.terminate();
      reject(new ProtocolError('ERR_TRANSPORT', `connect to ${display} failed (${why})`, cause === undefined ? undefined : { cause }));
    };
    ws.once('open', () => {
      ws.removeAllListeners('unexpected-response');
      ws.removeAllListeners('error');
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => fail(`HTTP ${res.statusCode ?? 'error'}`));
    ws.once('error', (error: Error & { code?: string }) => fail(error.code ?? error.message, error));
  });
}

export interface WsListener {
  address: WsAddress;
  close(): Promise<void>;
}

/** An HTTP server on TCP or a Unix path that upgrades requests for `address.path` only. */
export async function listenWebSocket(
  address: WsAddress,
  options: { maxPayload: number },
  onSocket: (ws: WebSocket, peer: string) => void,
): Promise<WsListener> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
    res.end('WebSocket upgrade required\n');
  });
  const sockets = trackConnections(server);
  const pathOnly = address.path.split('?')[0]!;
  const wss = new WebSocketServer({ server, path: pathOnly, maxPayload: options.maxPayload, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const remote = req.socket.remoteAddress;
    onSocket(ws, remote === undefined ? formatTransportUrl(address) : `${remote}:${req.socket.remotePort ?? 0}`);
  });
  const target: ListenTarget =
    address.kind === 'ws' ? { kind: 'tcp', host: address.host, port: address.port } : { kind: 'unix', path: address.socketPath };
  const bound = await listenServer(server, target);
  const actual: WsAddress = bound.kind === 'tcp' && address.kind === 'ws' ? { ...address, port: bound.port } : address;
  return {
    address: actual,
    async close(): Promise<void> {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(server, sockets);
    },
  };
}

/** A raw byte stream over a WebSocket (each write becomes a binary message). */
export function webSocketStream(ws: WebSocket): Duplex {
  return createWebSocketStream(ws, { allowHalfOpen: false });
}
