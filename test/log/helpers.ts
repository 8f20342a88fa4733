import fc from 'fast-check';
import { luhnValid } from '../../shared/luhn.js';

/** Appends the one digit that makes `partial` Luhn-valid, found by trying all ten. */
export function withCheckDigit(partial: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(partial + String(d))) return partial + String(d);
  throw new Error('unreachable: one of ten check digits always fits');
}

const digits = (length: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }).map((ds) => ds.join(''));

/** Luhn-valid numbers of `min`..`max` digits (default exactly `min`), any leading digit. */
export const luhnNumber = (min: number, max = min): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min, max }), digits(max - 1)).map(([length, body]) => withCheckDigit(body.slice(0, length - 1)));

/** Luhn-failing numbers: a valid one with its check digit moved by 1-9. */
export const nonLuhnNumber = (min: number, max = min): fc.Arbitrary<string> =>
  fc.tuple(luhnNumber(min, max), fc.integer({ min: 1, max: 9 })).map(([n, delta]) => {
    const last = (n.charCodeAt(n.length - 1) - 48 + delta) % 10;
    return n.slice(0, -1) + String(last);
  });
