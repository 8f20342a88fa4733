/**
 * PII redaction for the `POST /v1/pii/redact` operation: emails, phone numbers, US SSNs,
 * card numbers (Luhn-checked) and IBANs (MOD 97-10-checked) become typed placeholders, with
 * counts per type. What each detector accepts is documented in detectors.ts; near-misses (a
 * Luhn-failing number, an IBAN with a bad checksum, a bare 9-digit number) are left as they are.
 *
 * Overlaps are resolved by priority, the more specific structure first: an email wins over the
 * digits inside it, an IBAN over the card-like digits of its BBAN, an international phone number
 * over a card-length digit run after its `+`. An IBAN-shaped string whose checksum fails stays
 * untouched as a whole (its digits are not offered to the card detector).
 */
import { InputError } from '../../shared/errors.js';
import {
  findCards,
  findEmails,
  findIbans,
  findInternationalPhones,
  findNanpPhones,
  findSsns,
} from './detectors.js';
import { mergeSpans, type PiiKind, type PiiSpan } from './spans.js';

/** Longest text accepted, in UTF-16 code units (checked before any scanning). */
export const REDACT_MAX_CHARS = 1_048_576;

export const PLACEHOLDERS: Readonly<Record<PiiKind, string>> = {
  email: '[EMAIL]',
  phone: '[PHONE]',
  ssn: '[SSN]',
  card: '[CARD]',
  iban: '[IBAN]',
};

export interface RedactionResult {
  text: string;
  counts: Record<PiiKind, number>;
}

type Finder = (text: string) => PiiSpan[];

/** Highest priority first. Every finder returns its spans sorted by start. */
const FINDERS: readonly Finder[] = [findEmails, findIbans, findInternationalPhones, findCards, findSsns, findNanpPhones];

export function redact(text: string): RedactionResult {
  if (typeof text !== 'string') throw new TypeError('redact expects a string');
  if (text.length > REDACT_MAX_CHARS) throw new InputError('ERR_BODY_TOO_LARGE', `text exceeds ${REDACT_MAX_CHARS} characters`);
  let accepted: PiiSpan[] = [];
  for (const find of FINDERS) accepted = mergeSpans(accepted, find(text));
  const counts: Record<PiiKind, number> = { email: 0, phone: 0, ssn: 0, card: 0, iban: 0 };
  let out = '';
  let cursor = 0;
  for (const span of accepted) {
    if (span.keep === true) continue;
    out += text.slice(cursor, span.start) + PLACEHOLDERS[span.kind];
    counts[span.kind]++;
    cursor = span.end;
  }
  out += text.slice(cursor);
  return { text: out, counts };
}
