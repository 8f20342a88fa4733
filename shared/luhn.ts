/**
 * The Luhn (mod 10) check of ISO/IEC 7812-1 Annex B, used by the enclave's card logic and by the
 * parent's log redaction guard: from the rightmost digit leftwards,
 * double every second digit (subtracting 9 when the double exceeds 9) and sum; a number is valid
 * when the sum is a multiple of 10.
 */

const DIGITS = /^[0-9]+$/;

/** True when `digits` (ASCII digits only, at least 2) passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2 || !DIGITS.test(digits)) return false;
  return luhnSum(digits, false) % 10 === 0;
}

/** The check digit to append to `partial` (ASCII digits) so that the result passes Luhn. */
export function luhnCheckDigit(partial: string): number {
  if (partial.length < 1 || !DIGITS.test(partial)) throw new RangeError('luhnCheckDigit expects ASCII digits');
  // The digit to append will sit in the undoubled position, so the rightmost digit of `partial` is doubled.
  return (10 - (luhnSum(partial, true) % 10)) % 10;
}

function luhnSum(digits: string, doubleRightmost: boolean): number {
  let sum = 0;
  let double = doubleRightmost;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum;
}
