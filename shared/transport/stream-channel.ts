/**
 * A FrameChannel over any byte stream (net.Socket for TCP and Unix, the native addon's stream for
 * vsock): 4-byte big-endian length + payload (shared/protocol/frame-encoder.ts), decoded by the
 * byte-fed FrameDecoder.
 *
 * Writes made in one iteration of the event loop are corked and leave in one writev, at the end
 * of that iteration (setImmediate: Node's check phase, right after the poll phase that read the
 * input which caused them). Under load, one poll phase hands the parent many HTTP requests (one
 * callback per connection) and the enclave many replies; each used to leave in its own writev
 * (the cork was lifted on process.nextTick, i.e. after every callback), and on a 2-core host
 * system calls were the parent's largest CPU cost (bench tokenize profile: writev, for the link
 * and the HTTP answers, 27% of the parent's busy time). Node's event loop phases:
 * https://nodejs.org/en/learn/asynchronous-work/event-loop-timers-and-nexttick
 */
import type { Duplex } from 'node:stream';
import { BaseFrameChannel } from '../protocol/channel-base.js';
import { DEFAULT_HIGH_WATER_MARK_BYTES, type FrameChannelOptions } from '../protocol/channel.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { encodeFrameHeader } from '../protocol/frame-encoder.js';

/** How long a graceful close waits for queued frames to leave before it destroys the stream. */
export const CLOSE_GRACE_MS = 2_000;

function uncork(channel: StreamFrameChannel): void {
  channel.uncorkNow();
}

export class StreamFrameChannel extends BaseFrameChannel {
  readonly peer: string;
  readonly #stream: Duplex;
  readonly #decoder: FrameDecoder;
  #corked = false;

  constructor(stream: Duplex, options: FrameChannelOptions = {}, peer = 'stream') {
    // `writable` must only turn false after a write the stream itself refused, or its 'drain'
    // (which ends our congestion) would never come: never sit below the stream's own mark.
    const highWaterMarkBytes = Math.max(options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES, stream.writableHighWaterMark);
    super({ ...options, highWaterMarkBytes });
    this.#stream = stream;
    this.peer = peer;
    this.#decoder = new FrameDecoder({
      maxFrameBytes: this.maxFrameBytes,
      onFrame: (payload) => this.deliverFrame(payload),
      onError: (error) => this.deliverFrameError(error),
    });
    stream.on('drain', () => this.checkDrain());
    stream.on('end', () => {
      this.#decoder.end();
      this.transportClosed('connection closed by peer');
    });
    stream.on('error', (error) => this.transportClosed('connection failed', error));
    stream.on('close', () => this.transportClosed('connection closed'));
    if (stream.destroyed) this.transportClosed('connection closed');
  }

  get bufferedAmount(): number {
    return this.#stream.writableLength;
  }

  /** @internal */
  uncorkNow(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#stream.uncork();
  }

  protected write(payload: Uint8Array): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#stream.cork();
      setImmediate(uncork, this);
    }
    this.#stream.write(encodeFrameHeader(payload.length));
    this.#stream.write(payload);
  }

  protected startReading(): void {
    this.#stream.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
  }

  protected closeTransport(graceful: boolean): void {
    const stream = this.#stream;
    if (!graceful || stream.destroyed) {
      stream.destroy();
      return;
    }
    this.uncorkNow();
    stream.end();
    const timer = setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  }
}
