/**
 * Raw byte streams selected by URL (url.ts): what the enclave's KMS tunnels ride on, and what the
 * framed channels (channels.ts) are built from. tcp and unix use node:net; vsock (and unix with
 * `native: true`) the native addon (vsock.ts); ws and ws+unix a WebSocket whose binary messages
 * carry the bytes.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { closeServer, listenServer, trackConnections } from './net-listen.js';
import { assertConnectable, formatTransportUrl, parseTransportUrl, type TransportAddress } from './url.js';
import { dialNative, listenNative } from './vsock.js';
import { connectWebSocket, listenWebSocket, webSocketStream } from './ws.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface OpenStreamOptions {
  /** Gives up connecting after this long, ms; default 5000. */
  timeoutMs?: number;
  /** For unix:// URLs: go through the native addon's socket code, as vsock does (tests). */
  native?: boolean;
}

export interface ListenStreamsOptions {
  /** For unix:// URLs: accept through the native addon, as vsock does (tests). */
  native?: boolean;
  /** Accept errors that do not stop the listener (native listeners: EMFILE...). */
  onError?: (error: ProtocolError) => void;
}

export interface StreamListener {
  /** The URL actually bound (with the port the system chose for port 0). */
  readonly url: string;
  readonly address: TransportAddress;
  /** Stops accepting and destroys connections still open. */
  close(): Promise<void>;
}

function connectNet(options: net.NetConnectOpts, display: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProtocolError('ERR_TRANSPORT', `connect to ${display} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(new ProtocolError('ERR_TRANSPORT', `connect to ${display} failed (${error.code ?? 'error'})`, { cause: error }));
    });
  });
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 0x7fff_ffff) throw new RangeError('timeoutMs must be a positive integer');
  return timeoutMs;
}

/** Connects to `url` and resolves with a connected byte stream; ProtocolError ERR_TRANSPORT on failure. */
export async function openStream(url: string, options: OpenStreamOptions = {}): Promise<Duplex> {
  const address = parseTransportUrl(url);
  assertConnectable(address);
  return openStreamTo(address, options);
}

/** openStream for an already parsed address. */
export async function openStreamTo(address: TransportAddress, options: OpenStreamOptions = {}): Promise<Duplex> {
  const timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  const display = formatTransportUrl(address);
  switch (address.kind) {
    case 'tcp': {
      const socket = await connectNet({ host: address.host, port: address.port }, display, timeoutMs);
      // Request/response traffic: Nagle's algorithm would hold small frames back.
      socket.setNoDelay(true);
      return socket;
    }
    case 'unix':
      if (options.native === true) return dialNative(address, timeoutMs);
      return connectNet({ path: address.path }, display, timeoutMs);
    case 'vsock':
      return dialNative(address, timeoutMs);
    case 'ws':
    case 'ws+unix':
      return webSocketStream(await connectWebSocket(address, { timeoutMs, maxPayload: LIMITS.frameMaxBytes }));
  }
}

/** Listens on `url`, calling `onStream` for each accepted connection. */
export async function listenStreams(
  url: string,
  onStream: (stream: Duplex) => void,
  options: ListenStreamsOptions = {},
): Promise<StreamListener> {
  const address = parseTransportUrl(url);
  if (address.kind === 'vsock' || (address.kind === 'unix' && options.native === true)) {
    return listenNativeStreams(address, onStream, options.onError);
  }
  switch (address.kind) {
    case 'tcp':
    case 'unix': {
      const server = net.createServer({ noDelay: true }, onStream);
      const sockets = trackConnections(server);
      const bound = await listenServer(server, address);
      return { url: formatTransportUrl(bound), address: bound, close: () => closeServer(server, sockets) };
    }
    case 'ws':
    case 'ws+unix': {
      const listener = await listenWebSocket(address, { maxPayload: LIMITS.frameMaxBytes }, (ws) => onStream(webSocketStream(ws)));
      return { url: formatTransportUrl(listener.address), address: listener.address, close: () => listener.close() };
    }
  }
}

async function listenNativeStreams(
  address: { kind: 'vsock'; cid: number; port: number } | { kind: 'unix'; path: string },
  onStream: (stream: Duplex) => void,
  onError?: (error: ProtocolError) => void,
): Promise<StreamListener> {
  const open = new Set<Duplex>();
  const listener = await listenNative(
    address,
    (stream) => {
      open.add(stream);
      stream.once('close', () => open.delete(stream));
      onStream(stream);
    },
    onError,
  );
  return {
    url: formatTransportUrl(listener.address),
    address: listener.address,
    async close(): Promise<void> {
      await listener.close();
      for (const stream of open) stream.destroy();
    },
  };
}
