/**
 * Framing of raw NSM messages on a byte stream (the Unix socket between a dev enclave and the
 * simulator process): a 4-byte big-endian length, then that many bytes of NSM CBOR. A byte-fed
 * reader with no socket inside (docs/conventions.md item 7); the size cap is checked on the header, before
 * any body is buffered.
 */
import { ServiceError } from '../errors.js';

export const NSM_FRAME_HEADER_BYTES = 4;

export function encodeNsmFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(NSM_FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, NSM_FRAME_HEADER_BYTES);
  return frame;
}

/** Thrown by `push` when a header announces a body above the cap; `length` is what it announced. */
export class NsmFrameTooLargeError extends ServiceError {
  constructor(readonly length: number, maxBytes: number) {
    super('ERR_NSM_MALFORMED', `NSM frame of ${length} bytes exceeds ${maxBytes}`);
  }
}

export class NsmFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBodyBytes: number) {}

  /** Feeds bytes; returns every frame body completed by them, in order. */
  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < NSM_FRAME_HEADER_BYTES) return frames;
      const length = this.peekLength();
      if (length > this.maxBodyBytes) throw new NsmFrameTooLargeError(length, this.maxBodyBytes);
      if (this.buffered < NSM_FRAME_HEADER_BYTES + length) return frames;
      const all = this.take(NSM_FRAME_HEADER_BYTES + length);
      // A copy: the body outlives the socket's chunk buffers.
      frames.push(Buffer.from(all.subarray(NSM_FRAME_HEADER_BYTES)));
    }
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= NSM_FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks).readUInt32BE(0);
  }

  private take(count: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, count);
  }
}
