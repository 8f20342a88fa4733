/**
 * The sealed inputs of one pool message packed into one transferable buffer
 * (enclave/workers/packed-inputs.ts): every kind comes back with the same bytes in the same order,
 * views into a larger buffer are packed as their own bytes only, and a damaged buffer is refused.
 */
import { describe, expect, it } from 'vitest';
import type { SealedInput } from '../../enclave/app/sealed-input.js';
import { packInputs, unpackInputs } from '../../enclave/workers/packed-inputs.js';

const bytes = (length: number, from: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length }, (_, i) => (from + i) % 256);

describe('packed sealed inputs', () => {
  it('every kind, in order, with the same bytes (views into a frame pack only their own bytes)', () => {
    const frame = bytes(4096, 9);
    const inputs: SealedInput[] = [
      { hpke: { enc: bytes(32, 1), ciphertext: bytes(90, 2), sender: bytes(32, 3) } },
      { esdk: frame.subarray(100, 400) },
      { hpke: { enc: bytes(32, 4), ciphertext: bytes(16, 5) } },
      { kmsRsa: bytes(700, 6) },
      { esdk: new Uint8Array(0) },
    ];
    const packed = packInputs(inputs);
    expect(packed.byteLength).toBe(5 + 4 * 8 + 32 + 90 + 32 + 300 + 32 + 16 + 700);
    const back = unpackInputs(packed);
    expect(back).toEqual(inputs);
    // Views into the one buffer the worker received, not copies.
    expect(back.every((input) => ('esdk' in input ? input.esdk : 'kmsRsa' in input ? input.kmsRsa : input.hpke.enc).buffer === packed.buffer)).toBe(true);
    expect(unpackInputs(packInputs([]))).toEqual([]);
  });

  it('a damaged buffer is refused, never read past its end', () => {
    const packed = packInputs([{ kmsRsa: bytes(10, 1) }]);
    expect(() => unpackInputs(packed.slice(0, packed.byteLength - 1))).toThrow(RangeError);
    expect(() => unpackInputs(packed.slice(0, 3))).toThrow(RangeError);
    const unknownKind = packed.slice();
    unknownKind[0] = 9;
    expect(() => unpackInputs(unknownKind)).toThrow(RangeError);
  });
});
