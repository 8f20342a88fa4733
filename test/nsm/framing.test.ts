import { describe, expect, it } from 'vitest';
import { EnclaveKitError } from '../../shared/errors.js';
import { encodeNsmFrame, NsmFrameReader, NsmFrameTooLargeError } from '../../shared/nsm/framing.js';

const bodies = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(300).fill(7), new Uint8Array([0xa1, 0x65, 0x45])];
const stream = Buffer.concat(bodies.map((b) => encodeNsmFrame(b)));

describe('NSM socket framing (4-byte big-endian length)', () => {
  it('writes the length big-endian before the body', () => {
    expect(encodeNsmFrame(new Uint8Array(258).fill(1)).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 2]));
  });

  it('yields the same frames however the bytes are split (every split point, two cuts)', () => {
    for (let i = 0; i <= stream.length; i += 1) {
      for (let j = i; j <= stream.length; j += 7) {
        const reader = new NsmFrameReader(4096);
        const frames = [...reader.push(stream.subarray(0, i)), ...reader.push(stream.subarray(i, j)), ...reader.push(stream.subarray(j))];
        expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')));
        expect(reader.pendingBytes).toBe(0);
      }
    }
  });

  it('yields byte-at-a-time input too, and keeps an incomplete tail pending', () => {
    const reader = new NsmFrameReader(4096);
    const frames: Uint8Array[] = [];
    for (const byte of stream.subarray(0, stream.length - 1)) frames.push(...reader.push(Uint8Array.of(byte)));
    expect(frames).toHaveLength(bodies.length - 1);
    expect(reader.pendingBytes).toBe(4 + 3 - 1);
  });

  it('refuses a header above the cap before buffering the body', () => {
    const reader = new NsmFrameReader(4096);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4097);
    let error: unknown;
    try {
      reader.push(header);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NsmFrameTooLargeError);
    expect((error as EnclaveKitError).code).toBe('ERR_NSM_MALFORMED');
    expect((error as NsmFrameTooLargeError).length).toBe(4097);
    // Exactly at the cap is fine.
    expect(new NsmFrameReader(4096).push(encodeNsmFrame(new Uint8Array(4096)))[0]).toHaveLength(4096);
  });

  it('returns bodies that do not alias the input', () => {
    const input = Buffer.from(encodeNsmFrame(new Uint8Array([5, 6])));
    const [body] = new NsmFrameReader(16).push(input);
    input.fill(0);
    expect([...body!]).toEqual([5, 6]);
  });
});
