/**
 * Framed channels selected by URL: length-prefixed frames over the byte streams of streams.ts
 * (tcp, unix, vsock), native binary messages on ws and ws+unix.
 */
import type { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { checkMaxFrameBytes } from '../protocol/frame-encoder.js';
import type { FrameChannel, FrameChannelOptions } from '../protocol/channel.js';
import { StreamFrameChannel } from './stream-channel.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, listenStreams, openStreamTo } from './streams.js';
import { assertConnectable, formatTransportUrl, parseTransportUrl, type TransportAddress } from './url.js';
import { WsFrameChannel, connectWebSocket, listenWebSocket } from './ws.js';

export interface ConnectChannelOptions extends FrameChannelOptions {
  /** Gives up connecting after this long, ms; default 5000. */
  timeoutMs?: number;
  /** For unix:// URLs: use the native addon's socket path, as vsock does (tests). */
  native?: boolean;
}

export interface ListenChannelsOptions extends FrameChannelOptions {
  /** For unix:// URLs: accept through the native addon, as vsock does (tests). */
  native?: boolean;
  onError?: (error: ProtocolError) => void;
}

export interface ChannelListener {
  /** The URL actually bound (with the port the system chose for port 0). */
  readonly url: string;
  readonly address: TransportAddress;
  /** Stops accepting and tears down connections still open. */
  close(): Promise<void>;
}

function maxFrameBytesOf(options: FrameChannelOptions): number {
  return checkMaxFrameBytes(options.maxFrameBytes ?? LIMITS.frameMaxBytes);
}

function channelOptions(options: FrameChannelOptions): FrameChannelOptions {
  const out: FrameChannelOptions = {};
  if (options.maxFrameBytes !== undefined) out.maxFrameBytes = options.maxFrameBytes;
  if (options.highWaterMarkBytes !== undefined) out.highWaterMarkBytes = options.highWaterMarkBytes;
  if (options.maxBufferedBytes !== undefined) out.maxBufferedBytes = options.maxBufferedBytes;
  return out;
}

/** Connects to `url` and resolves with an open FrameChannel; ProtocolError ERR_TRANSPORT on failure. */
export async function connectChannel(url: string, options: ConnectChannelOptions = {}): Promise<FrameChannel> {
  const address = parseTransportUrl(url);
  assertConnectable(address);
  const frameOptions = channelOptions(options);
  const display = formatTransportUrl(address);
  if (address.kind === 'ws' || address.kind === 'ws+unix') {
    const ws = await connectWebSocket(address, {
      timeoutMs: options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      // Our receive limit: the same number as on byte streams.
      maxPayload: maxFrameBytesOf(frameOptions),
    });
    return new WsFrameChannel(ws, frameOptions, display);
  }
  const streamOptions = { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.native === undefined ? {} : { native: options.native }) };
  return new StreamFrameChannel(await openStreamTo(address, streamOptions), frameOptions, display);
}

/** Listens on `url`; `onChannel` receives a FrameChannel per accepted connection. */
export async function listenChannels(
  url: string,
  onChannel: (channel: FrameChannel) => void,
  options: ListenChannelsOptions = {},
): Promise<ChannelListener> {
  const address = parseTransportUrl(url);
  const frameOptions = channelOptions(options);
  if (address.kind === 'ws' || address.kind === 'ws+unix') {
    const listener = await listenWebSocket(address, { maxPayload: maxFrameBytesOf(frameOptions) }, (ws, peer) =>
      onChannel(new WsFrameChannel(ws, frameOptions, peer)),
    );
    return { url: formatTransportUrl(listener.address), address: listener.address, close: () => listener.close() };
  }
  const streamOptions = { ...(options.native === undefined ? {} : { native: options.native }), ...(options.onError === undefined ? {} : { onError: options.onError }) };
  const listener = await listenStreams(
    url,
    (stream) => {
      const remote = stream as { remoteAddress?: unknown; remotePort?: unknown };
      const peer = typeof remote.remoteAddress === 'string' ? `${remote.remoteAddress}:${String(remote.remotePort)}` : formatTransportUrl(address);
      onChannel(new StreamFrameChannel(stream, frameOptions, peer));
    },
    streamOptions,
  );
  return listener;
}
