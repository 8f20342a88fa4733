import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_PCR_HEX, extendPcrValue, isDebugPcrs, pcrOfBytes, pcrOfParts, pcrOfString } from '../../shared/pcr.js';
import { expectedDocs } from './vectors.js';

const sha384 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha384');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

describe('PCR formulas (docs/formats.md section 6)', () => {
  it('reproduces AWS published PCR3 example (role ARN)', () => {
    expect(pcrOfString('arn:aws:iam::123456789012:role/Webserver')).toBe(
      '78fce75db17cd4e0a3fb8dad3ad128ca5e77edbb2b2c7f75329dccd99aa5f6ef4fc1f1a452e315b9e98f9e312e6921e6',
    );
  });

  it('reproduces AWS published PCR4 example (instance id)', () => {
    expect(pcrOfString('i-1234567890abcdef0')).toBe(
      '08f996b5d43e047a9eb51e7f548bfee7e164fd7dc8f65541f2ac09d6545ac812719327281c401a67a10fcba87ae79ce0',
    );
  });

  it('reproduces PCR4 of every real document from the instance id in its module_id', () => {
    const docs = expectedDocs();
    expect(docs.length).toBeGreaterThanOrEqual(13);
    for (const doc of docs) {
      const instanceId = doc.module_id.split('-enc')[0] as string;
      expect(pcrOfString(instanceId), doc.file).toBe(doc.nonzero_pcrs['4']);
    }
  });

  it('pcrOfBytes is SHA384(zeros(48) ‖ SHA384(data)) and pcrOfParts hashes the concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (parts) => {
        const joined = Buffer.concat(parts);
        const expected = sha384(new Uint8Array(48), sha384(joined)).toString('hex');
        expect(pcrOfBytes(joined)).toBe(expected);
        expect(pcrOfParts(parts)).toBe(expected);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('extendPcrValue is SHA384(register ‖ data) and refuses a register of the wrong size', () => {
    const register = new Uint8Array(48).fill(7);
    const data = new Uint8Array([1, 2, 3]);
    expect(Buffer.from(extendPcrValue(register, data))).toEqual(sha384(register, data));
    expect(() => extendPcrValue(new Uint8Array(32), data)).toThrow(RangeError);
  });

  it('isDebugPcrs is true only when PCR0, PCR1 and PCR2 are all present and zero', () => {
    const set = pcrOfString('x');
    expect(isDebugPcrs({ 0: ZERO_PCR_HEX, 1: ZERO_PCR_HEX, 2: ZERO_PCR_HEX, 4: set })).toBe(true);
    expect(isDebugPcrs({ 0: ZERO_PCR_HEX, 1: ZERO_PCR_HEX, 2: set })).toBe(false);
    expect(isDebugPcrs({ 0: set, 1: ZERO_PCR_HEX, 2: ZERO_PCR_HEX })).toBe(false);
    expect(isDebugPcrs({ 0: ZERO_PCR_HEX, 1: ZERO_PCR_HEX })).toBe(false);
    expect(isDebugPcrs({ 0: '', 1: '', 2: '' })).toBe(false);
  });
});
