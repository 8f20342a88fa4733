/**
 * Fuzzing the frame decoder (shared/protocol/frame-decoder.ts) with arbitrary byte streams and
 * arbitrary chunkings. test/protocol/frame-decoder.test.ts splits one fixed stream every way;
 * here the streams themselves are random: well-formed frames, empty frames, oversized headers with
 * their payloads, and raw junk (which reads as random headers).
 *
 * Properties:
 * - `push` and `end` never throw; only ProtocolError ERR_FRAME_TOO_LARGE / ERR_FRAME_MALFORMED
 *   are reported, and decoding goes on after each;
 * - delivered frames are 1..max bytes, and the events depend only on the bytes, not on how they
 *   were cut into chunks;
 * - on streams made of known segments, the events are exactly the model's;
 * - memory: the decoder never holds more than what arrived, nor more than one frame's worth.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../shared/errors.js';
import { FrameDecoder } from '../../shared/protocol/frame-decoder.js';
import { encodeFrameHeader } from '../../shared/protocol/frame-encoder.js';
import { fuzzParams } from './runs.js';

const MAX = 512;

type Segment =
  | { kind: 'frame'; payload: Uint8Array }
  | { kind: 'empty' }
  | { kind: 'oversized'; length: number; payload: Uint8Array }
  | { kind: 'junk'; bytes: Uint8Array };

const frameSegment = fc.uint8Array({ minLength: 1, maxLength: MAX }).map((payload): Segment => ({ kind: 'frame', payload }));
const emptySegment = fc.constant<Segment>({ kind: 'empty' });
// The announced length of an oversized frame is skipped byte for byte: keep the payload small by
// announcing barely more than MAX most of the time, and sometimes 4 GiB with the stream ending early.
const oversizedSegment = fc
  .integer({ min: MAX + 1, max: MAX + 64 })
  .chain((length) => fc.uint8Array({ minLength: length, maxLength: length }).map((payload): Segment => ({ kind: 'oversized', length, payload })));
const junkSegment = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes): Segment => ({ kind: 'junk', bytes }));

function encode(segments: Segment[]): Buffer {
  return Buffer.concat(
    segments.map((s) => {
      switch (s.kind) {
        case 'frame':
          return Buffer.concat([encodeFrameHeader(s.payload.length), s.payload]);
        case 'empty':
          return encodeFrameHeader(0);
        case 'oversized':
          return Buffer.concat([encodeFrameHeader(s.length), s.payload]);
        case 'junk':
          return Buffer.from(s.bytes);
      }
    }),
  );
}

/** The model: what a decoder must report for a stream of known segments (no junk). */
function modelEvents(segments: Segment[]): string[] {
  return segments.map((s) =>
    s.kind === 'frame' ? `frame:${Buffer.from(s.payload).toString('hex')}` : s.kind === 'empty' ? 'error:ERR_FRAME_MALFORMED' : 'error:ERR_FRAME_TOO_LARGE',
  );
}

interface Run {
  events: string[];
  /** Largest bufferedBytes seen after a push, and bytes pushed so far at that moment. */
  maxBuffered: number;
  overHeld: boolean;
}

/** Decodes `stream` cut at `cuts` (fractions), checking the invariants as it goes. */
function decode(stream: Uint8Array, cuts: number[], end = true): Run {
  const events: string[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes: MAX,
    onFrame: (payload) => {
      expect(payload.length).toBeGreaterThanOrEqual(1);
      expect(payload.length).toBeLessThanOrEqual(MAX);
      events.push(`frame:${Buffer.from(payload).toString('hex')}`);
    },
    onError: (error) => {
      expect(error).toBeInstanceOf(ProtocolError);
      expect(['ERR_FRAME_TOO_LARGE', 'ERR_FRAME_MALFORMED']).toContain(error.code);
      events.push(`error:${error.code}`);
    },
  });
  const offsets = [...new Set(cuts.map((c) => Math.floor(c * stream.length)))].sort((a, b) => a - b);
  let at = 0;
  let maxBuffered = 0;
  let overHeld = false;
  for (const offset of [...offsets, stream.length]) {
    decoder.push(stream.subarray(at, offset));
    at = offset;
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    // Held bytes are bytes that arrived, of one frame (a 3-byte partial header, or a payload).
    if (decoder.bufferedBytes > at || decoder.bufferedBytes > MAX) overHeld = true;
  }
  if (end) {
    decoder.end();
    expect(decoder.atFrameBoundary).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  }
  return { events, maxBuffered, overHeld };
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe('frame decoder fuzz', () => {
  it('streams of known segments: exactly the model\'s events, however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 4, arbitrary: frameSegment }, emptySegment, oversizedSegment), { maxLength: 12 }), cutsArb, (segments, cuts) => {
        const stream = encode(segments);
        const run = decode(stream, cuts);
        expect(run.events).toEqual(modelEvents(segments));
        expect(run.overHeld).toBe(false);
      }),
      fuzzParams(),
    );
  });

  it('arbitrary bytes (junk between frames): never throws, same events for every chunking, bounded memory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameSegment, emptySegment, oversizedSegment, { weight: 3, arbitrary: junkSegment }), { minLength: 1, maxLength: 10 }),
        cutsArb,
        cutsArb,
        (segments, cutsA, cutsB) => {
          const stream = encode(segments);
          const whole = decode(stream, []);
          const a = decode(stream, cutsA);
          const b = decode(stream, cutsB);
          expect(a.events).toEqual(whole.events);
          expect(b.events).toEqual(whole.events);
          expect(a.overHeld || b.overHeld || whole.overHeld).toBe(false);
        },
      ),
      fuzzParams(),
    );
  });

  it('a 4 GiB header followed by a random tail: one ERR_FRAME_TOO_LARGE, nothing of the payload held', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), cutsArb, (tail, cuts) => {
        const stream = Buffer.concat([encodeFrameHeader(0xffff_ffff), tail]);
        const run = decode(stream, cuts, false);
        expect(run.events).toEqual(['error:ERR_FRAME_TOO_LARGE']);
        // At most a partial header (3 bytes) while the header itself is split.
        expect(run.maxBuffered).toBeLessThanOrEqual(3);
      }),
      fuzzParams(),
    );
  });
});
