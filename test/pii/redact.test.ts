import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../enclave/cards/luhn.js';
import { ibanValid, ssnPlausible } from '../../enclave/pii/checksums.js';
import { redact, REDACT_MAX_CHARS } from '../../enclave/pii/redact.js';
import { InputError } from '../../shared/errors.js';

type Counts = Partial<Record<'email' | 'phone' | 'ssn' | 'card' | 'iban', number>>;
const zero = { email: 0, phone: 0, ssn: 0, card: 0, iban: 0 };

// [input, expected text, expected counts]
const REDACTED: [string, string, Counts][] = [
  ['mail john.doe+tag@example.co.uk today', 'mail [EMAIL] today', { email: 1 }],
  ['Write to A.B@Sub.Example.ORG.', 'Write to [EMAIL].', { email: 1 }],
  ['<ops@example.com>,sales@example.io', '<[EMAIL]>,[EMAIL]', { email: 2 }],
  ['card 4111 1111 1111 1111 ok', 'card [CARD] ok', { card: 1 }],
  ['card 4111-1111-1111-1111.', 'card [CARD].', { card: 1 }],
  ['amex 378282246310005', 'amex [CARD]', { card: 1 }],
  ['amex 3782 822463 10005', 'amex [CARD]', { card: 1 }],
  ['diners 30569309025904', 'diners [CARD]', { card: 1 }],
  ['card 4111 1111 1111 1111 exp 12/25', 'card [CARD] exp 12/25', { card: 1 }],
  ['card 4111 1111 1111 1111 99', 'card [CARD] 99', { card: 1 }], // trailing group not part of it
  ['IBAN DE89 3704 0044 0532 0130 00 please', 'IBAN [IBAN] please', { iban: 1 }],
  ['IBAN DE89370400440532013000', 'IBAN [IBAN]', { iban: 1 }],
  ['GB82 WEST 1234 5698 7654 32 and gb82west12345698765432', '[IBAN] and [IBAN]', { iban: 2 }],
  ['FR14 2004 1010 0505 0001 3M02 606', '[IBAN]', { iban: 1 }],
  ['SSN 123-45-6789.', 'SSN [SSN].', { ssn: 1 }],
  ['SSN 123 45 6789', 'SSN [SSN]', { ssn: 1 }],
  ['call +44 20 7946 0958 now', 'call [PHONE] now', { phone: 1 }],
  ['call +14155552671', 'call [PHONE]', { phone: 1 }],
  ['tel:+14155552671', 'tel:[PHONE]', { phone: 1 }],
  ['+44 20 7946 0958 4111111111111111', '[PHONE] [CARD]', { phone: 1, card: 1 }],
  ['call +1 (415) 555-2671', 'call [PHONE]', { phone: 1 }],
  ['(415) 555-2671 / 415-555-2671 / 415.555.2671 / 1-415-555-2671', '[PHONE] / [PHONE] / [PHONE] / [PHONE]', { phone: 4 }],
  [
    'Jane (jane@example.com, +33 1 23 45 67 89) paid with 5555555555554444 from NL91ABNA0417164300; SSN 219-09-9999.',
    'Jane ([EMAIL], [PHONE]) paid with [CARD] from [IBAN]; SSN [SSN].',
    { email: 1, phone: 1, card: 1, iban: 1, ssn: 1 },
  ],
];

// Near-misses: left exactly as they are.
const UNTOUCHED: [string, string][] = [
  ['Luhn-failing 16 digits', 'card 4111 1111 1111 1112 and 4111111111111112'],
  ['Luhn-failing 15 digits', 'amex 378282246310006'],
  ['11 digits (too short for a card)', 'ref 79927398713'],
  ['digits glued to letters', 'order A4111111111111111 and 4111111111111111x'],
  ['20 digits', 'id 41111111111111111111'],
  ['bad IBAN checksum (grouped)', 'IBAN DE89 3704 0044 0532 0130 01'],
  ['bad IBAN checksum (compact)', 'IBAN DE88370400440532013000'],
  ['IBAN too short', 'code DE89 3704 0044'],
  ['bare 9-digit number (not SSN-shaped)', 'zip 123456789 and account 219099999'],
  ['never-issued SSN areas and groups', '000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000'],
  ['SSN with mixed separators', '123-45 6789'],
  ['SSN-like inside a longer number', '1-123-45-6789 and 123-45-67890'],
  ['a list of SSN-shaped invalid numbers (no card either)', '000-12-3456 666-12-3456 000-12-3456'],
  ['short groups do not make a card', '12 34 56 78 90 12 34 5 and 411 1111 1111 1111'],
  ['NANP with area code starting 0/1', '123-456-7890 and 015-555-2671'],
  ['NANP with exchange starting 0/1', '415-123-4567'],
  ['7-digit local number', 'call 555-2671'],
  ['dates, times, versions', '2024-01-15 12:30:45 v1.2.3 10.0.0.1'],
  ['international with too few digits', '+44 123'],
  ['international with too many digits', '+1234567890123456'],
  ['emails without a TLD or with a bad one', 'root@localhost a@b.c x@y.123 @example.com user@ user@-bad.com'],
  ['plain prose', 'Nothing to see here: 42 apples, 7 oranges, 1999 and 2025.'],
];

describe('redaction tables', () => {
  it.each(REDACTED)('%j', (input, expected, counts) => {
    const result = redact(input);
    expect(result.text).toBe(expected);
    expect(result.counts).toEqual({ ...zero, ...counts });
  });

  it.each(UNTOUCHED)('leaves %s untouched', (_label, input) => {
    expect(redact(input)).toEqual({ text: input, counts: zero });
  });
});

describe('redaction properties (fast-check, fixed seed)', () => {
  const luhnPan = fc
    .tuple(fc.constantFrom('4', '51', '37', '6011', '35'), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 11, maxLength: 14 }))
    .map(([prefix, digits]) => {
      const partial = (prefix + digits.join('')).slice(0, 15);
      return partial + luhnCheckDigit(partial);
    });
  const words = fc.array(fc.constantFrom('the', 'card', 'is', 'paid', 'by', ':', ',', 'order', 'ref'), { maxLength: 6 }).map((w) => w.join(' '));

  it('a Luhn-valid card number in prose is always removed, whatever its grouping', () => {
    fc.assert(
      fc.property(words, luhnPan, fc.constantFrom('', ' ', '-'), words, (before, pan, sep, after) => {
        const written = sep === '' ? pan : pan.match(/.{1,4}/g)!.join(sep);
        const result = redact(`${before} ${written} ${after}`);
        expect(result.text).not.toContain(pan);
        expect(result.text).not.toContain(written);
        expect(result.counts.card).toBe(1);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('is idempotent: placeholders contain nothing to redact', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a@b.io', '4111111111111111', 'x', '+44 20 7946 0958', '219-09-9999', 'DE89370400440532013000', '-', '.', '(415) 555-2671'), { maxLength: 20 }), (parts) => {
        const once = redact(parts.join(' '));
        expect(redact(once.text).text).toBe(once.text);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('never changes text outside the spans it reports', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const result = redact(text);
        const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
        if (total === 0) expect(result.text).toBe(text);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('redaction limits and adversarial input', () => {
  it('refuses text above the limit before scanning', () => {
    let caught: unknown;
    try {
      redact('a'.repeat(REDACT_MAX_CHARS + 1));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).code).toBe('ERR_BODY_TOO_LARGE');
  });

  it('handles long pathological runs (no super-linear scanning; the test timeout is the guard)', () => {
    const size = 200_000;
    for (const unit of ['a@', 'a.', '1 ', '1-', '1234 ', '4111-', '+1 ', 'AB12 ', '@', '9', 'a'.repeat(63) + '.']) {
      const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
      const result = redact(text);
      expect(typeof result.text).toBe('string');
    }
  });
});

describe('checksums', () => {
  it('IBAN MOD 97-10', () => {
    for (const valid of ['DE89370400440532013000', 'GB82WEST12345698765432', 'NL91ABNA0417164300', 'FR1420041010050500013M02606', 'gb82west12345698765432']) {
      expect(ibanValid(valid)).toBe(true);
    }
    for (const invalid of ['DE88370400440532013000', 'GB82WEST12345698765433', 'D889370400440532013000', 'DE89', 'DE89 3704 0044 0532 0130 00']) {
      expect(ibanValid(invalid)).toBe(false);
    }
  });

  it('SSN never-issued values', () => {
    expect(ssnPlausible('123', '45', '6789')).toBe(true);
    expect(ssnPlausible('000', '45', '6789')).toBe(false);
    expect(ssnPlausible('666', '45', '6789')).toBe(false);
    expect(ssnPlausible('900', '45', '6789')).toBe(false);
    expect(ssnPlausible('123', '00', '6789')).toBe(false);
    expect(ssnPlausible('123', '45', '0000')).toBe(false);
  });
});
