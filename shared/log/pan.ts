/**
 * Does a log value hold something that looks like a card number (PAN)? The log guard
 * (redaction-guard.ts) drops any field for which this says yes. It errs towards dropping: a lost
 * log field costs little, a PAN in a log file is a PCI DSS incident (PCI DSS v4.0 req. 3.3-3.5).
 *
 * A PAN here is 12-19 digits (ISO/IEC 7812-1) passing Luhn, written
 * - ungrouped, even glued to letters ("pan4111111111111111" counts: concatenated cache keys and
 *   identifiers are how PANs leak by accident), or
 * - in groups separated by single spaces or dashes, where every group but the last has 4-6 digits
 *   (4-4-4-4, Amex 4-6-5, Diners 4-6-4, 4-4-4-4-3). The same grouping rule as the enclave's PII
 *   redactor (enclave/pii/detectors.ts), so that lists of short numbers ("took 250 3000 45 ms")
 *   do not read as one card. Mixed separators are accepted (the redactor wants one kind).
 *
 * Deliberate exceptions, each to keep values that logs are full of:
 * - 12- and 13-digit runs count only when they start with 4, 5 or 6. Only Visa (13 digits, 4)
 *   and Maestro (12-19 digits, 5/6) issue PANs that short (brand table in enclave/cards/brand.ts),
 *   while epoch-millisecond timestamps are 13 digits starting with 1-3 until 2096 and AWS account
 *   ids are 12 digits: without this, one in ten of them would pass Luhn and be dropped.
 *   Timestamps in µs or ns (16 / 19 digits) get no such pass: log them in ms or as ISO strings.
 * - Canonical UUIDs (8-4-4-4-12 hex) are skipped: they are request ids, not cards.
 * - Digits after a decimal point ("0.30000000000000004") are a fraction, not a card.
 * - A single group of more than 19 digits is always a PAN: a card glued to other digits cannot be
 *   ruled out, and a random long digit run almost always holds a Luhn-valid 14-19 digit window, so
 *   checking windows would only pretend to be precise.
 *
 * Linear time: each character is visited once to find groups, and each window grows by at most
 * five groups (4+ digits each, 19 at most).
 */
import { luhnValid } from '../luhn.js';

export const PAN_MIN_DIGITS = 12;
export const PAN_MAX_DIGITS = 19;

/** Canonical UUIDs, not glued to other letters or digits; masked before the digit scan. */
export const UUID_PATTERN = /(?<![0-9A-Za-z])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])/g;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isSeparator = (c: number): boolean => c === 32 || c === 45; // ' ' or '-'

/** Replaces canonical UUIDs with dots (same length, so positions stay meaningful). */
export function maskUuids(text: string): string {
  return text.includes('-') ? text.replace(UUID_PATTERN, (m) => '.'.repeat(m.length)) : text;
}

/** A compact digit string that could be a card number. */
export function isPlausiblePan(digits: string): boolean {
  if (digits.length < PAN_MIN_DIGITS || digits.length > PAN_MAX_DIGITS) return false;
  if (digits.length < 14) {
    const first = digits.charCodeAt(0);
    if (first < 52 || first > 54) return false; // '4'..'6'
  }
  return luhnValid(digits);
}

/** True when `text` holds a PAN by the rules above. */
export function containsPan(text: string): boolean {
  const masked = maskUuids(text);
  let i = 0;
  while (i < masked.length) {
    if (!isDigit(masked.charCodeAt(i))) {
      i++;
      continue;
    }
    const fraction = i >= 2 && masked[i - 1] === '.' && isDigit(masked.charCodeAt(i - 2));
    // Collect one run: groups of digits joined by single separators.
    const groups: string[] = [];
    let pos = i;
    for (;;) {
      const start = pos;
      while (pos < masked.length && isDigit(masked.charCodeAt(pos))) pos++;
      groups.push(masked.slice(start, pos));
      if (pos + 1 < masked.length && isSeparator(masked.charCodeAt(pos)) && isDigit(masked.charCodeAt(pos + 1))) {
        pos++;
        continue;
      }
      break;
    }
    i = pos;
    if (runHasPan(groups, fraction)) return true;
  }
  return false;
}

function runHasPan(groups: readonly string[], startsWithFraction: boolean): boolean {
  for (let first = startsWithFraction ? 1 : 0; first < groups.length; first++) {
    const head = groups[first]!;
    if (head.length > PAN_MAX_DIGITS) return true;
    let compact = head;
    if (isPlausiblePan(compact)) return true;
    for (let g = first + 1; g < groups.length; g++) {
      const previous = groups[g - 1]!;
      if (previous.length < 4 || previous.length > 6) break;
      compact += groups[g]!;
      if (compact.length > PAN_MAX_DIGITS) break;
      if (isPlausiblePan(compact)) return true;
    }
  }
  return false;
}
