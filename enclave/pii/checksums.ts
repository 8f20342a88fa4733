/**
 * Checksums that tell real identifiers from look-alikes in free text.
 */

/**
 * IBAN check (ISO 13616-1 / ISO 7064 MOD 97-10): move the first four characters to the end,
 * replace letters by 10..35, and the number must be ≡ 1 (mod 97). Input: compact form (no
 * spaces), letters in either case. Also checks the shape: 2 letters, 2 digits, 11..30 alphanumerics
 * (total 15..34, the range of the SWIFT IBAN registry).
 */
export function ibanValid(compact: string): boolean {
  if (!/^[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged.toUpperCase()) {
    const code = ch.charCodeAt(0);
    // Digits contribute one decimal digit, letters two (A = 10 … Z = 35).
    if (code <= 57) remainder = (remainder * 10 + (code - 48)) % 97;
    else remainder = (remainder * 100 + (code - 55)) % 97;
  }
  return remainder === 1;
}

/**
 * US Social Security Number rules (SSA, "Social Security Number Randomization", 2011): area
 * 000, 666 and 900-999 are never issued, nor group 00 or serial 0000.
 */
export function ssnPlausible(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}
