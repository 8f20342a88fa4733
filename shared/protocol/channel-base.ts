/**
 * What every FrameChannel implementation shares: listener lists, counters, the frame limit, the
 * high-water / hard buffer limits and the close-once logic. Subclasses move bytes.
 */
import { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';
import {
  DEFAULT_HIGH_WATER_MARK_BYTES,
  type FrameChannel,
  type FrameChannelOptions,
  type FrameChannelStats,
} from './channel.js';
import { assertSendableFrame, checkMaxFrameBytes } from './frame-encoder.js';

type Listener<A extends unknown[]> = (...args: A) => void;

/** Copy-on-write listener list: safe to (un)subscribe while it is being called. */
class Listeners<A extends unknown[]> {
  list: readonly Listener<A>[] = [];
  add(listener: Listener<A>): () => void {
    this.list = [...this.list, listener];
    return () => {
      this.list = this.list.filter((l) => l !== listener);
    };
  }
}

export abstract class BaseFrameChannel implements FrameChannel {
  readonly maxFrameBytes: number;
  readonly highWaterMarkBytes: number;
  readonly maxBufferedBytes: number;
  readonly stats: FrameChannelStats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, frameErrors: 0 };
  abstract readonly peer: string;

  readonly #frame = new Listeners<[Uint8Array]>();
  readonly #frameError = new Listeners<[ProtocolError]>();
  readonly #drain = new Listeners<[]>();
  readonly #close = new Listeners<[ProtocolError]>();
  #closeReason: ProtocolError | null = null;
  #reading = false;
  /** Set when `send` reported false; cleared (and onDrain fired) once below the high-water mark. */
  protected congested = false;

  constructor(options: FrameChannelOptions = {}) {
    this.maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? LIMITS.frameMaxBytes);
    this.highWaterMarkBytes = positiveInteger(options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES, 'highWaterMarkBytes');
    this.maxBufferedBytes = positiveInteger(
      options.maxBufferedBytes ?? Math.max(8 * this.maxFrameBytes, 2 * this.highWaterMarkBytes),
      'maxBufferedBytes',
    );
    if (this.maxBufferedBytes < this.highWaterMarkBytes) throw new RangeError('maxBufferedBytes must be ≥ highWaterMarkBytes');
  }

  abstract get bufferedAmount(): number;
  /** Hands one frame to the transport. */
  protected abstract write(payload: Uint8Array): void;
  /** Starts delivering incoming data (called once, at the first onFrame subscription). */
  protected abstract startReading(): void;
  /** Ends the transport: gracefully (flush queued frames, bounded) or at once. */
  protected abstract closeTransport(graceful: boolean): void;

  get closed(): boolean {
    return this.#closeReason !== null;
  }

  get writable(): boolean {
    return this.#closeReason === null && !this.congested;
  }

  send(payload: Uint8Array): boolean {
    if (this.#closeReason !== null) {
      throw new ProtocolError('ERR_CONNECTION_LOST', 'channel is closed', { cause: this.#closeReason });
    }
    assertSendableFrame(payload.length, this.maxFrameBytes);
    this.write(payload);
    this.stats.framesOut++;
    this.stats.bytesOut += payload.length;
    const buffered = this.bufferedAmount;
    if (buffered > this.maxBufferedBytes) {
      // The peer stopped reading: drop the link rather than hold its backlog without bound.
      this.#finish(
        new ProtocolError('ERR_CONNECTION_LOST', `peer is not reading (over ${this.maxBufferedBytes} bytes buffered)`),
        false,
      );
      return false;
    }
    if (buffered >= this.highWaterMarkBytes) this.congested = true;
    return !this.congested;
  }

  onFrame(listener: (payload: Uint8Array) => void): () => void {
    const off = this.#frame.add(listener);
    if (!this.#reading && this.#closeReason === null) {
      this.#reading = true;
      this.startReading();
    }
    return off;
  }

  onFrameError(listener: (error: ProtocolError) => void): () => void {
    return this.#frameError.add(listener);
  }

  onDrain(listener: () => void): () => void {
    return this.#drain.add(listener);
  }

  onClose(listener: (reason: ProtocolError) => void): () => void {
    if (this.#closeReason !== null) {
      listener(this.#closeReason);
      return () => {};
    }
    return this.#close.add(listener);
  }

  close(): void {
    this.#finish(new ProtocolError('ERR_CONNECTION_LOST', 'channel closed locally'), true);
  }

  // For subclasses.

  protected deliverFrame(payload: Uint8Array): void {
    if (this.#closeReason !== null) return;
    this.stats.framesIn++;
    this.stats.bytesIn += payload.length;
    for (const listener of this.#frame.list) listener(payload);
  }

  protected deliverFrameError(error: ProtocolError): void {
    if (this.#closeReason !== null) return;
    this.stats.frameErrors++;
    for (const listener of this.#frameError.list) listener(error);
  }

  /** Subclasses call this when the transport's buffer may have gone down. */
  protected checkDrain(): void {
    if (this.congested && this.#closeReason === null && this.bufferedAmount < this.highWaterMarkBytes) {
      this.congested = false;
      for (const listener of this.#drain.list) listener();
    }
  }

  /** Subclasses call this when the transport closed or failed by itself. */
  protected transportClosed(message: string, cause?: unknown): void {
    this.#finish(new ProtocolError('ERR_CONNECTION_LOST', message, cause === undefined ? undefined : { cause }), false);
  }

  #finish(reason: ProtocolError, graceful: boolean): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    this.congested = false;
    try {
      this.closeTransport(graceful);
    } finally {
      const listeners = this.#close.list;
      this.#close.list = [];
      // Every listener runs even if one throws; the first exception is rethrown afterwards.
      const errors: unknown[] = [];
      for (const listener of listeners) {
        try {
          listener(reason);
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw errors[0];
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
