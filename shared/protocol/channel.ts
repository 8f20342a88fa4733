/**
 * A FrameChannel carries whole frames (opaque payloads) between two peers. The RPC layer
 * (rpc.ts) runs over any implementation: length-prefixed frames on a byte stream (vsock, Unix,
 * TCP: shared/transport/stream-channel.ts), one binary message per frame on WebSocket
 * (shared/transport/ws.ts), or the in-memory pair of memory-channel.ts for tests.
 */
import type { ProtocolError } from '../errors.js';

export interface FrameChannelStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames refused before decoding (oversized, empty, non-binary): counted and dropped. */
  frameErrors: number;
}

export interface FrameChannel {
  /** Largest payload this channel sends or accepts, bytes. */
  readonly maxFrameBytes: number;
  /** Bytes accepted by `send` and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** False while `bufferedAmount` is at or over the high-water mark (wait for `onDrain`) or once closed. */
  readonly writable: boolean;
  readonly closed: boolean;
  readonly stats: Readonly<FrameChannelStats>;
  /** A description of the peer for logs (address, never secrets). */
  readonly peer: string;

  /**
   * Queues one frame. Returns `writable` afterwards: false asks the caller to hold further frames
   * until `onDrain`. Throws ProtocolError ERR_FRAME_TOO_LARGE (or ERR_FRAME_MALFORMED for an
   * empty payload) without sending anything, and ERR_CONNECTION_LOST once closed. The payload
   * must not be modified afterwards.
   *
   * A channel whose buffer passes its hard limit (`maxBufferedBytes`, a peer that stopped
   * reading) closes itself rather than grow without bound.
   */
  send(payload: Uint8Array): boolean;

  /**
   * Subscribes to incoming frames (payload bytes, valid during the call: decode or copy them).
   * Frames arriving before the first subscriber are held back (reading starts with it).
   * Returns an unsubscribe function.
   */
  onFrame(listener: (payload: Uint8Array) => void): () => void;
  /** Frames refused by the framing layer; the channel stays open. */
  onFrameError(listener: (error: ProtocolError) => void): () => void;
  /** The buffer fell below the high-water mark after `send` returned false. */
  onDrain(listener: () => void): () => void;
  /**
   * Called once when the channel closes, for any reason (peer closed, socket error, local
   * `close()`, buffer limit), with a ProtocolError ERR_CONNECTION_LOST whose `cause` holds the
   * underlying error if any. A listener added after the close is called at once.
   */
  onClose(listener: (reason: ProtocolError) => void): () => void;

  /**
   * Closes the channel: `onClose` listeners run synchronously, frames already queued are still
   * flushed (bounded by a short grace period), then the connection is torn down.
   */
  close(): void;
}

/** Defaults shared by the channel implementations. */
export interface FrameChannelOptions {
  /** Largest frame payload, bytes; default LIMITS.frameMaxBytes. */
  maxFrameBytes?: number;
  /** `writable` turns false at this many buffered bytes; default 1 MiB. */
  highWaterMarkBytes?: number;
  /** The channel closes when this many bytes are buffered (peer not reading); default max(8 × maxFrameBytes, 2 × highWaterMarkBytes). */
  maxBufferedBytes?: number;
}

export const DEFAULT_HIGH_WATER_MARK_BYTES = 1024 * 1024;
