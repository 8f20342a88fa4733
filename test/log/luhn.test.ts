import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnValid } from '../../shared/luhn.js';
import { luhnNumber, withCheckDigit } from './helpers.js';

describe('shared luhnValid', () => {
  it('accepts the ISO/IEC 7812-1 Annex B example and published test PANs', () => {
    for (const n of ['79927398713', '4111111111111111', '5555555555554444', '378282246310005', '6011111111111117']) {
      expect(luhnValid(n), n).toBe(true);
    }
  });

  it('rejects a changed digit, non-digits and too-short input', () => {
    for (const n of ['79927398710', '4111111111111112', '4111 1111 1111 1111', '41111111111111a1', '0', '', '٤١١١']) {
      expect(luhnValid(n), n).toBe(false);
    }
  });

  it('catches every single-digit substitution', () => {
    fc.assert(
      fc.property(luhnNumber(16).map((n) => n.slice(0, 15)), fc.nat(15), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const valid = withCheckDigit(body);
        const d = (valid.charCodeAt(at) - 48 + delta) % 10;
        const changed = valid.slice(0, at) + String(d) + valid.slice(at + 1);
        return luhnValid(valid) && !luhnValid(changed);
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
