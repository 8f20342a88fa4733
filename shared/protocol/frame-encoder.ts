/**
 * The byte-stream framing of the parent ⇄ enclave link (docs/architecture.md "Wire protocol"): every
 * frame is a 4-byte big-endian payload length followed by that many bytes of msgpack. WebSocket
 * links carry one binary message per frame instead and never see this header.
 *
 * The sender enforces the same limit as the receiver (docs/conventions.md item 6): an oversized frame is a
 * local error for the one request or reply that produced it, never bytes on the wire.
 */
import { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';

export const FRAME_HEADER_BYTES = 4;

/** The length field is a uint32, so no limit can exceed 2^32 - 1. */
export const FRAME_LENGTH_FIELD_MAX = 0xffff_ffff;

/** Checks a configured frame limit (our own configuration: RangeError, not a protocol error). */
export function checkMaxFrameBytes(maxFrameBytes: number = LIMITS.frameMaxBytes): number {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > FRAME_LENGTH_FIELD_MAX) {
    throw new RangeError(`maxFrameBytes must be an integer in [1, ${FRAME_LENGTH_FIELD_MAX}]`);
  }
  return maxFrameBytes;
}

/** Throws ERR_FRAME_TOO_LARGE / ERR_FRAME_MALFORMED for a payload the peer would refuse. */
export function assertSendableFrame(payloadLength: number, maxFrameBytes: number): void {
  if (payloadLength > maxFrameBytes) {
    throw new ProtocolError(
      'ERR_FRAME_TOO_LARGE',
      `frame of ${payloadLength} bytes exceeds the limit of ${maxFrameBytes} bytes`,
    );
  }
  // A zero-length frame is refused by every decoder (no msgpack value is empty).
  if (payloadLength === 0) throw new ProtocolError('ERR_FRAME_MALFORMED', 'empty frame');
}

/** Writes the 4-byte big-endian length of a payload into `target` at `offset`. */
export function writeFrameHeader(payloadLength: number, target: Uint8Array, offset = 0): void {
  target[offset] = (payloadLength >>> 24) & 0xff;
  target[offset + 1] = (payloadLength >>> 16) & 0xff;
  target[offset + 2] = (payloadLength >>> 8) & 0xff;
  target[offset + 3] = payloadLength & 0xff;
}

/** A fresh 4-byte header (pooled small allocation; the channel writes it next to the payload). */
export function encodeFrameHeader(payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(payloadLength, header);
  return header;
}

/** Header and payload in one buffer: for tools and tests; channels write the two parts corked. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes: number = LIMITS.frameMaxBytes): Buffer {
  assertSendableFrame(payload.length, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(payload.length, frame);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}
