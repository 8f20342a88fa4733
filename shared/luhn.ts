/**
 * The Luhn (mod 10) check of ISO/IEC 7812-1 Annex B, for code outside the enclave (the parent's
 * log redaction guard). Same contract as enclave/cards/luhn.ts `luhnValid`; the two are kept
 * separate only because shared/ must not import from enclave/ (to be merged later).
 *
 * From the rightmost digit leftwards, every second digit is doubled (minus 9 when the double
 * exceeds 9); the number is valid when the sum is a multiple of 10.
 */

/** True when `digits` (ASCII digits only, at least 2 of them) passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}
