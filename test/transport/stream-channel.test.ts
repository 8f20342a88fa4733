/**
 * StreamFrameChannel's write coalescing: frames sent anywhere in one event-loop iteration leave
 * in one writev at its end, in order and intact, and back-pressure still holds while corked.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../shared/protocol/frame-decoder.js';
import { StreamFrameChannel } from '../../shared/transport/stream-channel.js';

/** A stream that records each batch the channel hands it and can hold writes back (a slow peer). */
class RecordingStream extends Duplex {
  readonly batches: number[] = [];
  readonly frames: Buffer[] = [];
  readonly #decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024, onFrame: (payload) => this.frames.push(Buffer.from(payload)), onError: (error) => { throw error; } });
  #held: (() => void)[] = [];
  holding = false;

  constructor(highWaterMark = 16 * 1024) {
    super({ writableHighWaterMark: highWaterMark });
  }

  override _read(): void {}

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.batches.push(chunks.length);
    for (const { chunk } of chunks) this.#decoder.push(chunk);
    if (this.holding) this.#held.push(() => callback());
    else callback();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  release(): void {
    this.holding = false;
    const held = this.#held;
    this.#held = [];
    for (const done of held) done();
  }
}

const nextIteration = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const payload = (i: number, size = 16): Uint8Array => new Uint8Array(size).fill(i % 251 + 1);

describe('StreamFrameChannel write coalescing', () => {
  it('sends frames written by separate callbacks of one iteration in one writev, in order', async () => {
    const stream = new RecordingStream();
    const channel = new StreamFrameChannel(stream);
    // Three callbacks of the same event-loop phase, as three HTTP requests read in one poll phase.
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 3; i += 1) setImmediate(() => channel.send(payload(i)));
      setImmediate(resolve);
    });
    expect(stream.batches).toEqual([]);
    await nextIteration();
    expect(stream.batches).toEqual([6]); // 3 frames × (header + payload) in one call
    expect(stream.frames.map((frame) => frame[0])).toEqual([1, 2, 3]);
    channel.close();
  });

  it('keeps large and small frames intact and in order across iterations', async () => {
    const stream = new RecordingStream(64 * 1024);
    const channel = new StreamFrameChannel(stream);
    const sent: Uint8Array[] = [];
    for (let round = 0; round < 4; round += 1) {
      for (const size of [1, 3 * 1024 * 1024 + 7, 200, 65_536]) {
        const frame = new Uint8Array(size);
        for (let k = 0; k < size; k += 4093) frame[k] = (round * 31 + k) & 0xff;
        frame[size - 1] = round + 1;
        sent.push(frame);
        channel.send(frame);
      }
      await nextIteration();
    }
    await nextIteration();
    expect(stream.frames.length).toBe(sent.length);
    stream.frames.forEach((frame, i) => expect(Buffer.compare(frame, Buffer.from(sent[i]!))).toBe(0));
    expect(stream.batches.length).toBeLessThanOrEqual(4 + 4); // one per iteration (plus the stream's own re-batching after a slow write)
    channel.close();
  });

  it('reports back-pressure while frames wait for the flush, and drains once the peer reads', async () => {
    const stream = new RecordingStream(16 * 1024);
    const channel = new StreamFrameChannel(stream, { highWaterMarkBytes: 32 * 1024, maxBufferedBytes: 1024 * 1024 });
    stream.holding = true;
    let accepted = 0;
    while (channel.send(payload(accepted, 4096))) accepted += 1;
    accepted += 1; // the frame that crossed the mark was still queued
    expect(channel.writable).toBe(false);
    expect(channel.bufferedAmount).toBeGreaterThanOrEqual(32 * 1024);
    let drained = 0;
    channel.onDrain(() => (drained += 1));
    await nextIteration();
    expect(drained).toBe(0); // the peer has read nothing yet
    stream.release();
    await nextIteration();
    expect(drained).toBe(1);
    expect(channel.writable).toBe(true);
    expect(stream.frames.map((frame) => frame[0])).toEqual(Array.from({ length: accepted }, (_, i) => (i % 251) + 1));
    channel.close();
  });

  it('flushes corked frames before a graceful close', async () => {
    const stream = new RecordingStream();
    const channel = new StreamFrameChannel(stream);
    channel.send(payload(7));
    channel.close();
    await nextIteration();
    expect(stream.frames.map((frame) => frame[0])).toEqual([8]);
  });
});
