/**
 * Byte-fed decoder for length-prefixed frames (docs/conventions.md item 7, after `ws`'s Receiver): no socket
 * inside, just `push(chunk)` and callbacks. Format: frame-encoder.ts.
 *
 * Errors never desynchronise the stream, because the length prefix alone says where the next frame
 * starts:
 * - a length above `maxFrameBytes` is reported as ERR_FRAME_TOO_LARGE as soon as the 4-byte header
 *   is complete, and the payload is then skipped as it arrives, never held in memory;
 * - a zero length is reported as ERR_FRAME_MALFORMED (no msgpack value is empty) and skipped.
 * So one bad frame costs that frame only; what it meant (its request id) is lost with it.
 *
 * Allocation: a payload that lies inside one chunk is handed out as a view of that chunk (no copy);
 * one split across chunks is gathered as a list of views and copied once, when complete, into a
 * buffer of its exact size. Memory held for a partial frame is what actually arrived, not what the
 * header announced.
 */
import { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { FRAME_HEADER_BYTES, checkMaxFrameBytes } from './frame-encoder.js';

export interface FrameDecoderOptions {
  /** Largest accepted payload, bytes (header excluded). Default LIMITS.frameMaxBytes. */
  maxFrameBytes?: number;
  /**
   * Receives each complete payload. It may be a view of a chunk passed to `push`: use it (decode
   * it) before the chunk is reused, or copy it.
   */
  onFrame: (payload: Uint8Array) => void;
  /** Receives ERR_FRAME_TOO_LARGE / ERR_FRAME_MALFORMED; decoding continues after it. */
  onError: (error: ProtocolError) => void;
}

const NO_FAILURE = Symbol('no failure');

export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly #onFrame: (payload: Uint8Array) => void;
  readonly #onError: (error: ProtocolError) => void;

  /** Header bytes gathered so far when a header is split across chunks. */
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Length of the payload being gathered; 0 while reading a header. */
  #need = 0;
  #got = 0;
  #parts: Uint8Array[] = [];
  /** Payload bytes of an oversized frame still to discard. */
  #skip = 0;

  constructor(options: FrameDecoderOptions) {
    this.maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? LIMITS.frameMaxBytes);
    this.#onFrame = options.onFrame;
    this.#onError = options.onError;
  }

  /** Bytes held for an incomplete frame (header or payload). */
  get bufferedBytes(): number {
    return this.#headerFill + this.#got;
  }

  /** True between frames: a stream that ends here ended cleanly. */
  get atFrameBoundary(): boolean {
    return this.#headerFill === 0 && this.#need === 0 && this.#skip === 0;
  }

  /**
   * Feeds bytes. Callbacks run synchronously, in stream order. If a callback throws, the rest of
   * the chunk is still decoded (state stays consistent) and the first exception is rethrown at the
   * end.
   */
  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let offset = 0;
    let failure: unknown = NO_FAILURE;
    while (offset < length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, length - offset);
        this.#skip -= n;
        offset += n;
        continue;
      }
      if (this.#need === 0) {
        let frameLength: number;
        if (this.#headerFill === 0 && length - offset >= FRAME_HEADER_BYTES) {
          frameLength = readUint32(chunk, offset);
          offset += FRAME_HEADER_BYTES;
        } else {
          while (this.#headerFill < FRAME_HEADER_BYTES && offset < length) {
            this.#header[this.#headerFill++] = chunk[offset++]!;
          }
          if (this.#headerFill < FRAME_HEADER_BYTES) break;
          this.#headerFill = 0;
          frameLength = readUint32(this.#header, 0);
        }
        let error: ProtocolError | null = null;
        if (frameLength === 0) {
          error = new ProtocolError('ERR_FRAME_MALFORMED', 'empty frame');
        } else if (frameLength > this.maxFrameBytes) {
          // Decided from the header alone: nothing of the payload is buffered.
          this.#skip = frameLength;
          error = new ProtocolError(
            'ERR_FRAME_TOO_LARGE',
            `frame of ${frameLength} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
          );
        } else if (length - offset >= frameLength) {
          const payload = chunk.subarray(offset, offset + frameLength);
          offset += frameLength;
          try {
            this.#onFrame(payload);
          } catch (e) {
            if (failure === NO_FAILURE) failure = e;
          }
          continue;
        } else {
          this.#need = frameLength;
          this.#got = length - offset;
          this.#parts.push(chunk.subarray(offset));
          offset = length;
          continue;
        }
        try {
          this.#onError(error);
        } catch (e) {
          if (failure === NO_FAILURE) failure = e;
        }
        continue;
      }
      const n = Math.min(this.#need - this.#got, length - offset);
      this.#parts.push(chunk.subarray(offset, offset + n));
      this.#got += n;
      offset += n;
      if (this.#got === this.#need) {
        const payload = Buffer.concat(this.#parts, this.#need);
        this.#parts = [];
        this.#need = 0;
        this.#got = 0;
        try {
          this.#onFrame(payload);
        } catch (e) {
          if (failure === NO_FAILURE) failure = e;
        }
      }
    }
    if (failure !== NO_FAILURE) throw failure;
  }

  /**
   * The stream has ended. Reports ERR_FRAME_MALFORMED if it ended inside a frame (a truncated
   * frame), and resets.
   */
  end(): void {
    const truncated = !this.atFrameBoundary && this.#skip === 0;
    this.#headerFill = 0;
    this.#need = 0;
    this.#got = 0;
    this.#parts = [];
    this.#skip = 0;
    if (truncated) this.#onError(new ProtocolError('ERR_FRAME_MALFORMED', 'stream ended inside a frame'));
  }
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! * 0x100_0000 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!)
  );
}
