/**
 * PII detectors for free text. Each returns candidate spans that passed its validator; redact.ts
 * resolves overlaps by priority. Every detector runs in time linear in the text: no regular
 * expression here has nested or adjacent ambiguous quantifiers, and the scans that expand around
 * an anchor ('@', digit runs) never revisit a character more than a bounded number of times.
 *
 * What counts (and what deliberately does not):
 * - email: local@domain, local part of [A-Za-z0-9._%+-] without leading/trailing/double dots,
 *   domain of at least two labels with an alphabetic TLD of 2+ letters. `user@localhost` stays.
 * - card: 12-19 digits, ungrouped or in groups of 4-6 (the last may be shorter) with one kind of
 *   separator (single spaces or hyphens), passing Luhn, not glued to letters or digits. A
 *   Luhn-failing number stays.
 * - iban: ISO 13616 compact or grouped by single spaces, passing MOD 97-10. A failing one stays,
 *   and so do the digits inside it (they are not offered to the card detector).
 * - ssn: AAA-GG-SSSS (hyphens or single spaces, the same twice) with SSA's never-issued values
 *   excluded. Bare 9-digit numbers stay: without the shape they are far more often ZIP+4 codes,
 *   order or account numbers than SSNs.
 * - phone: international `+CC …` with 8-15 digits (ITU-T E.164 allows at most 15), or NANP
 *   `(NXX) NXX-XXXX` / `NXX-NXX-XXXX` / `NXX.NXX.XXXX` with an optional leading `1`, where N is
 *   2-9 (NANP numbering plan). Bare digit runs and 7-digit local numbers stay.
 */
import { luhnValid } from '../cards/luhn.js';
import { ibanValid, ssnPlausible } from './checksums.js';
import { mergeSpans, type PiiSpan } from './spans.js';

export type { PiiKind, PiiSpan } from './spans.js';

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function findEmails(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    while (start < at && text[start] === '.') start++;
    let end = at + 1;
    while (end < text.length && DOMAIN_CHAR.test(text[end]!)) end++;
    // Sentence punctuation after an address: "write to a@b.com." or "a@b.com-".
    while (end > at + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
    const local = text.slice(start, at);
    const domain = text.slice(at + 1, end);
    if (local.length === 0 || local.endsWith('.') || local.includes('..')) continue;
    const labels = domain.split('.');
    if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) continue;
    if (!/^[A-Za-z]{2,63}$/.test(labels[labels.length - 1]!)) continue;
    spans.push({ kind: 'email', start, end });
  }
  return spans;
}

// Character classes by code unit: a RegExp test per character dominated the scan time.
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

interface Group {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

interface Run {
  readonly groups: readonly Group[];
  /** The run touches a letter or digit on that side, so no match may start (end) there. */
  readonly gluedLeft: boolean;
  readonly gluedRight: boolean;
}

/**
 * Maximal runs of groups of `groupChar` separated by single characters from `separators`. Each
 * character is visited once.
 */
function forEachGroupedRun(text: string, groupChar: (c: number) => boolean, separators: string, onRun: (run: Run) => void): void {
  let i = 0;
  while (i < text.length) {
    if (!groupChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const gluedLeft = i > 0 && isAlnum(text.charCodeAt(i - 1));
    const groups: Group[] = [];
    let pos = i;
    for (;;) {
      const start = pos;
      while (pos < text.length && groupChar(text.charCodeAt(pos))) pos++;
      groups.push({ start, end: pos });
      if (pos + 1 < text.length && separators.includes(text[pos]!) && groupChar(text.charCodeAt(pos + 1))) {
        pos++;
        continue;
      }
      break;
    }
    onRun({ groups, gluedLeft, gluedRight: pos < text.length && isAlnum(text.charCodeAt(pos)) });
    i = pos;
  }
}

interface WindowRules {
  /** Characters of a match, separators not counted. */
  readonly minChars: number;
  readonly maxChars: number;
  /** May a match continue past this group? (Every group but a match's last must pass.) */
  readonly joinable: (group: string) => boolean;
  /** All separators inside one match must be the same character. */
  readonly uniformSeparator: boolean;
}

/**
 * Picks matches made of whole groups: from each admissible start group (left to right), the
 * longest window allowed by `rules` that `accept`s its compact text. Windows never start at a
 * left-glued first group or end at a right-glued last group. Work per start group is bounded by
 * maxChars, so the scan is linear in the run.
 */
function pickWindows(
  text: string,
  run: Run,
  rules: WindowRules,
  startOk: (group: string) => boolean,
  accept: (compact: string) => boolean,
  emit: (start: number, end: number) => void,
): void {
  const { groups } = run;
  let first = run.gluedLeft ? 1 : 0;
  while (first < groups.length) {
    const head = text.slice(groups[first]!.start, groups[first]!.end);
    if (!startOk(head)) {
      first++;
      continue;
    }
    const parts = [head];
    let chars = head.length;
    const separator = text[groups[first]!.end];
    for (let g = first + 1; g < groups.length && chars <= rules.maxChars; g++) {
      if (!rules.joinable(parts[parts.length - 1]!)) break;
      if (rules.uniformSeparator && text[groups[g - 1]!.end] !== separator) break;
      const part = text.slice(groups[g]!.start, groups[g]!.end);
      if (chars + part.length > rules.maxChars) break;
      parts.push(part);
      chars += part.length;
    }
    let found = -1;
    if (chars <= rules.maxChars) {
      let compact = parts.join('');
      for (let k = parts.length - 1; k >= 0 && compact.length >= rules.minChars; k--) {
        const last = first + k;
        if (!(run.gluedRight && last === groups.length - 1) && accept(compact)) {
          found = last;
          break;
        }
        compact = compact.slice(0, compact.length - parts[k]!.length);
      }
    }
    if (found >= 0) {
      emit(groups[first]!.start, groups[found]!.end);
      first = found + 1;
    } else {
      first++;
    }
  }
}

/**
 * How card numbers are written: ungrouped, or in groups of 4-6 digits (4-4-4-4, Amex 4-6-5,
 * Diners 4-6-4, 19-digit 4-4-4-4-3) with one kind of separator; the last group may be shorter.
 * This keeps lists of short numbers ("000-12-3456 666-12-3456") from reading as one card.
 */
const CARD_RULES: WindowRules = {
  minChars: 12,
  maxChars: 19,
  joinable: (group) => group.length >= 4 && group.length <= 6,
  uniformSeparator: true,
};
const IBAN_RULES: WindowRules = { minChars: 15, maxChars: 34, joinable: () => true, uniformSeparator: true };

export function findCards(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  forEachGroupedRun(text, isDigit, ' -', (run) => {
    pickWindows(text, run, CARD_RULES, () => true, luhnValid, (start, end) => spans.push({ kind: 'card', start, end }));
  });
  return spans;
}

/**
 * Valid IBANs, plus IBAN-shaped near-misses (printed groups of four or compact, 15-34 characters)
 * whose checksum fails, returned with `keep` so that they stay as written.
 */
export function findIbans(text: string): PiiSpan[] {
  const valid: PiiSpan[] = [];
  forEachGroupedRun(text, isAlnum, ' ', (run) => {
    pickWindows(
      text,
      run,
      IBAN_RULES,
      (group) => /^[A-Za-z]{2}[0-9]{2}/.test(group),
      ibanValid,
      (start, end) => valid.push({ kind: 'iban', start, end }),
    );
  });
  const shaped: PiiSpan[] = [];
  for (const m of text.matchAll(IBAN_SHAPE)) {
    const bban = m[0].length - 4 - (m[0].split(' ').length - 1);
    if (bban >= 11) shaped.push({ kind: 'iban', start: m.index, end: m.index + m[0].length, keep: true });
  }
  return mergeSpans(valid, shaped);
}

// Printed (groups of four after the country code and check digits, a shorter last group) or
// compact. Bounded quantifiers and distinct group delimiters: constant backtracking per start.
const IBAN_SHAPE = /(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,3})?|[A-Za-z0-9]{11,30})(?![A-Za-z0-9])/g;

// Not inside a longer hyphenated number (1-123-45-6789, 123-45-6789-0); spaces do separate numbers.
const SSN = /(?<![A-Za-z0-9]|[0-9]-)([0-9]{3})([- ])([0-9]{2})\2([0-9]{4})(?![A-Za-z0-9]|-[0-9])/g;

export function findSsns(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const m of text.matchAll(SSN)) {
    if (ssnPlausible(m[1]!, m[3]!, m[4]!)) spans.push({ kind: 'ssn', start: m.index, end: m.index + m[0].length });
  }
  return spans;
}

// Country code, then groups that each start with a separator (so digits cannot be split between
// groups in more than one way), an optional parenthesised area code among them.
const INTERNATIONAL_PHONE = /(?<![0-9+])\+[1-9][0-9]{0,14}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-][0-9]{1,14}){0,6}(?![0-9])/g;
const NANP_PHONE =
  /(?<![A-Za-z0-9+]|[0-9][.-])(?:1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}(?![A-Za-z0-9]|[.-][0-9])/g;

/**
 * `+` numbers. When the groups after the country code add up to more than 15 digits, the longest
 * leading run of whole groups with 8-15 digits is the number (a card or reference number may
 * follow a phone number after a space).
 */
export function findInternationalPhones(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const m of text.matchAll(INTERNATIONAL_PHONE)) {
    let digits = 0;
    let end = -1;
    // Group ends: each maximal run of digits, with a closing parenthesis kept in its group.
    for (const g of m[0].matchAll(/[0-9]+\)?/g)) {
      digits += g[0].replace(')', '').length;
      if (digits > 15) break;
      if (digits >= 8) end = g.index + g[0].length;
    }
    if (end > 0) spans.push({ kind: 'phone', start: m.index, end: m.index + end });
  }
  return spans;
}

export function findNanpPhones(text: string): PiiSpan[] {
  return [...text.matchAll(NANP_PHONE)].map((m) => ({ kind: 'phone' as const, start: m.index, end: m.index + m[0].length }));
}
