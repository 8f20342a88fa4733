import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../shared/errors.js';
import { FrameDecoder } from '../../shared/protocol/frame-decoder.js';
import { encodeFrame, encodeFrameHeader } from '../../shared/protocol/frame-encoder.js';

const MAX = 1000;

type Event = string; // "frame:<hex>" or "error:<code>"

function collect(maxFrameBytes = MAX): { decoder: FrameDecoder; events: Event[] } {
  const events: Event[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes,
    onFrame: (payload) => events.push(`frame:${Buffer.from(payload).toString('hex')}`),
    onError: (error) => {
      expect(error).toBeInstanceOf(ProtocolError);
      events.push(`error:${error.code}`);
    },
  });
  return { decoder, events };
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** A stream with ordinary frames, an empty frame, an oversized one (with its payload) and more. */
function sampleStream(): { stream: Buffer; expected: Event[] } {
  const payloads = [bytes(1, 1), bytes(127, 2), bytes(MAX, 3), bytes(4, 4)];
  const oversized = bytes(MAX + 1, 5);
  const parts: Buffer[] = [];
  const expected: Event[] = [];
  parts.push(encodeFrame(payloads[0]!), encodeFrame(payloads[1]!));
  expected.push(`frame:${payloads[0]!.toString('hex')}`, `frame:${payloads[1]!.toString('hex')}`);
  parts.push(encodeFrameHeader(0));
  expected.push('error:ERR_FRAME_MALFORMED');
  parts.push(encodeFrameHeader(oversized.length), oversized);
  expected.push('error:ERR_FRAME_TOO_LARGE');
  parts.push(encodeFrame(payloads[2]!), encodeFrame(payloads[3]!));
  expected.push(`frame:${payloads[2]!.toString('hex')}`, `frame:${payloads[3]!.toString('hex')}`);
  return { stream: Buffer.concat(parts), expected };
}

describe('FrameDecoder', () => {
  const { stream, expected } = sampleStream();

  it('decodes the whole stream pushed at once', () => {
    const { decoder, events } = collect();
    decoder.push(stream);
    expect(events).toEqual(expected);
    expect(decoder.atFrameBoundary).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('gives the same frames and errors when the stream is split at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { decoder, events } = collect();
      decoder.push(stream.subarray(0, cut));
      decoder.push(stream.subarray(cut));
      expect(events, `split at ${cut}`).toEqual(expected);
      expect(decoder.atFrameBoundary).toBe(true);
    }
  });

  it('gives the same frames one byte at a time', () => {
    const { decoder, events } = collect();
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
    expect(events).toEqual(expected);
  });

  it('gives the same frames for random chunkings (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 200 }), (sizes) => {
        const { decoder, events } = collect();
        let offset = 0;
        let i = 0;
        while (offset < stream.length) {
          const size = sizes[i++ % sizes.length]!;
          decoder.push(stream.subarray(offset, offset + size));
          offset += size;
        }
        expect(events).toEqual(expected);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('refuses an oversized frame from its 4-byte header, before any payload arrives, and skips it', () => {
    const { decoder, events } = collect();
    decoder.push(encodeFrameHeader(MAX + 1));
    expect(events).toEqual(['error:ERR_FRAME_TOO_LARGE']);
    expect(decoder.bufferedBytes).toBe(0);
    // The payload streams past without being held.
    decoder.push(bytes(MAX, 9));
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.atFrameBoundary).toBe(false);
    decoder.push(Buffer.concat([bytes(1, 9), encodeFrame(Buffer.from([0xc0]))]));
    expect(events).toEqual(['error:ERR_FRAME_TOO_LARGE', 'frame:c0']);
  });

  it('refuses a 4 GiB length without allocating it', () => {
    const { decoder, events } = collect();
    decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(events).toEqual(['error:ERR_FRAME_TOO_LARGE']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('accepts a frame of exactly the limit and names sizes in the error', () => {
    const errors: ProtocolError[] = [];
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder({ maxFrameBytes: 10, onFrame: (f) => frames.push(f), onError: (e) => errors.push(e) });
    decoder.push(encodeFrame(bytes(10, 1), 10));
    decoder.push(encodeFrameHeader(11));
    expect(frames).toHaveLength(1);
    expect(errors[0]!.message).toBe('frame of 11 bytes exceeds the limit of 10 bytes');
  });

  it('reports a zero-length frame as malformed and carries on', () => {
    const { decoder, events } = collect();
    decoder.push(Buffer.concat([encodeFrameHeader(0), encodeFrameHeader(0), encodeFrame(Buffer.from([1]))]));
    expect(events).toEqual(['error:ERR_FRAME_MALFORMED', 'error:ERR_FRAME_MALFORMED', 'frame:01']);
  });

  it('holds only the bytes that arrived for a partial frame, and reports a truncated stream at end()', () => {
    const { decoder, events } = collect();
    decoder.push(Buffer.concat([encodeFrameHeader(MAX), bytes(10, 1)]));
    expect(decoder.bufferedBytes).toBe(10);
    decoder.end();
    expect(events).toEqual(['error:ERR_FRAME_MALFORMED']);
    expect(decoder.atFrameBoundary).toBe(true);
    const clean = collect();
    clean.decoder.push(encodeFrame(Buffer.from([1])));
    clean.decoder.end();
    expect(clean.events).toEqual(['frame:01']);
  });

  it('hands out a frame inside one chunk as a view of it, and a split frame as one exact copy', () => {
    const frames: Uint8Array[] = [];
    const decoder = new FrameDecoder({ maxFrameBytes: MAX, onFrame: (f) => frames.push(f), onError: () => {} });
    const whole = encodeFrame(bytes(20, 1));
    decoder.push(whole);
    const first = Buffer.from(whole.subarray(0, 10));
    const second = Buffer.from(whole.subarray(10));
    decoder.push(first);
    decoder.push(second);
    // Overwriting the chunks shows which frame is a view and which a copy.
    whole.fill(0);
    first.fill(0);
    second.fill(0);
    expect(Buffer.from(frames[0]!).equals(Buffer.alloc(20))).toBe(true);
    expect(frames[1]!.byteLength).toBe(20);
    expect(Buffer.from(frames[1]!).equals(bytes(20, 1))).toBe(true);
  });

  it('keeps decoding the rest of a chunk when a callback throws, then rethrows', () => {
    const seen: string[] = [];
    const decoder = new FrameDecoder({
      maxFrameBytes: MAX,
      onFrame: (f) => {
        seen.push(Buffer.from(f).toString('hex'));
        if (f[0] === 1) throw new Error('listener bug');
      },
      onError: () => {},
    });
    const chunk = Buffer.concat([encodeFrame(Buffer.from([1])), encodeFrame(Buffer.from([2])), encodeFrame(Buffer.from([3]))]);
    expect(() => decoder.push(chunk)).toThrow('listener bug');
    expect(seen).toEqual(['01', '02', '03']);
    expect(decoder.atFrameBoundary).toBe(true);
  });

  it('refuses a bad limit as a RangeError (our configuration, not peer input)', () => {
    expect(() => new FrameDecoder({ maxFrameBytes: 0, onFrame: () => {}, onError: () => {} })).toThrow(RangeError);
    expect(() => new FrameDecoder({ maxFrameBytes: 2 ** 32, onFrame: () => {}, onError: () => {} })).toThrow(RangeError);
  });

  it('the encoder refuses to build frames the decoder would refuse', () => {
    expect(() => encodeFrame(bytes(11, 1), 10)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_MALFORMED' }));
    expect(encodeFrame(Buffer.from([7, 8]))).toEqual(Buffer.from([0, 0, 0, 2, 7, 8]));
    expect(encodeFrameHeader(0x01020304)).toEqual(Buffer.from([1, 2, 3, 4]));
  });
});
