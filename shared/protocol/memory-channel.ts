/**
 * Two FrameChannels joined in memory: the RPC layer's test bed (and a way for the lead's tests to
 * run a parent and an enclave in one process without sockets). Delivery is asynchronous
 * (setImmediate), in order, and honours backpressure: frames wait in the sender's buffer while
 * the receiver has not subscribed or is paused, so `bufferedAmount`, `writable` and `onDrain`
 * behave as on a socket.
 */
import { BaseFrameChannel } from './channel-base.js';
import type { FrameChannelOptions } from './channel.js';

export class MemoryFrameChannel extends BaseFrameChannel {
  readonly peer: string;
  #other: MemoryFrameChannel | null = null;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #flushScheduled = false;
  #reading = false;
  #paused = false;

  constructor(name: string, options?: FrameChannelOptions) {
    super(options);
    this.peer = name;
  }

  /** @internal Joins two channels; use createMemoryChannelPair. */
  static join(a: MemoryFrameChannel, b: MemoryFrameChannel): void {
    a.#other = b;
    b.#other = a;
  }

  get bufferedAmount(): number {
    return this.#outboxBytes;
  }

  /** Test hook: stop taking frames from the peer (its buffer then grows, as with a stalled reader). */
  pauseReading(): void {
    this.#paused = true;
  }

  resumeReading(): void {
    this.#paused = false;
    const other = this.#other;
    if (other !== null) other.#scheduleFlush();
  }

  /** Test hook: the link breaks at once in both directions (queued frames are lost). */
  sever(cause?: unknown): void {
    const other = this.#other;
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.transportClosed('connection lost', cause);
    if (other !== null) {
      other.#outbox = [];
      other.#outboxBytes = 0;
      other.transportClosed('connection lost', cause);
    }
  }

  protected write(payload: Uint8Array): void {
    this.#outbox.push(payload);
    this.#outboxBytes += payload.length;
    this.#scheduleFlush();
  }

  protected startReading(): void {
    this.#reading = true;
    const other = this.#other;
    if (other !== null) other.#scheduleFlush();
  }

  protected closeTransport(graceful: boolean): void {
    const other = this.#other;
    if (!graceful) {
      this.#outbox = [];
      this.#outboxBytes = 0;
    }
    // The peer sees the close after the frames queued before it, as with a socket's FIN.
    setImmediate(() => {
      if (other === null) return;
      if (graceful && other.#reading && !other.#paused) this.#flush();
      other.transportClosed('connection closed by peer');
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#outbox.length === 0) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const other = this.#other;
    if (other === null || !other.#reading || other.#paused || other.closed) return;
    const frames = this.#outbox;
    this.#outbox = [];
    this.#outboxBytes = 0;
    for (const frame of frames) other.deliverFrame(frame);
    this.checkDrain();
  }
}

/** Two joined channels with the same options. */
export function createMemoryChannelPair(options?: FrameChannelOptions): [MemoryFrameChannel, MemoryFrameChannel] {
  const a = new MemoryFrameChannel('memory:a', options);
  const b = new MemoryFrameChannel('memory:b', options);
  MemoryFrameChannel.join(a, b);
  return [a, b];
}
