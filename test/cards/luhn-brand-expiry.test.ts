import { describe, expect, it } from 'vitest';
import { detectBrand, type CardBrand } from '../../enclave/cards/brand.js';
import { expiresAt, isExpired, parseExpiry } from '../../enclave/cards/expiry.js';
import { luhnCheckDigit, luhnValid } from '../../enclave/cards/luhn.js';
import { InputError } from '../../shared/errors.js';

describe('Luhn', () => {
  // Valid: the ISO/IEC 7812 worked example 79927398713 and the schemes' published test numbers.
  const valid = ['79927398713', '4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '30569309025904', '00', '18'];
  const invalid = ['79927398710', '79927398711', '4111111111111112', '5555555555554440', '378282246310006', '01', '10'];
  const notDigits = ['', '7', '4111 1111 1111 1111', '4111-1111-1111-1111', '41111111111111a1', '４１１１'];

  it.each(valid)('%s passes', (n) => expect(luhnValid(n)).toBe(true));
  it.each(invalid)('%s fails', (n) => expect(luhnValid(n)).toBe(false));
  it.each(notDigits)('%j is not a Luhn number', (n) => expect(luhnValid(n)).toBe(false));

  it('computes the check digit that makes a number valid', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3);
    expect(luhnCheckDigit('411111111111111')).toBe(1);
    for (let d = 0; d <= 9; d++) {
      const partial = `4000${d}0000000000`;
      const full = partial + luhnCheckDigit(partial);
      expect(luhnValid(full)).toBe(true);
      expect(luhnValid(partial + ((luhnCheckDigit(partial) + 1) % 10))).toBe(false);
    }
    expect(() => luhnCheckDigit('12a')).toThrow(RangeError);
  });
});

describe('card brand from the IIN', () => {
  const table: [string, CardBrand][] = [
    ['4111111111111111', 'visa'],
    ['4012888888881881', 'visa'],
    ['4222222222222', 'visa'], // 13 digits
    ['4000000000000000006', 'visa'], // 19 digits
    ['5105105105105100', 'mastercard'],
    ['5555555555554444', 'mastercard'],
    ['2221000000000009', 'mastercard'], // 2-series, first
    ['2223003122003222', 'mastercard'],
    ['2720999999999996', 'mastercard'], // 2-series, last
    ['2220990000000000', 'unknown'], // just below the 2-series
    ['2721000000000000', 'unknown'], // just above
    ['378282246310005', 'amex'],
    ['371449635398431', 'amex'],
    ['340000000000009', 'amex'],
    ['3782822463100050', 'unknown'], // Amex prefix, but 16 digits
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['6430000000000000', 'unknown'], // 643 is outside 644-649
    ['3530111333300000', 'jcb'],
    ['3566002020360505', 'jcb'],
    ['3528000000000007', 'jcb'],
    ['3589000000000003', 'jcb'],
    ['3527000000000000', 'unknown'],
    ['30569309025904', 'diners'],
    ['38520000023237', 'diners'],
    ['36227206271667', 'diners'],
    ['30950000000000', 'diners'],
    ['30600000000000', 'unknown'], // 306 is outside 300-305
    ['6200000000000005', 'unionpay'],
    ['6221260000000000', 'unionpay'], // the range Discover also accepts: issuer UnionPay
    ['8100000000000000', 'unionpay'],
    ['6759649826438453', 'maestro'],
    ['6304000000000000', 'maestro'],
    ['5018000000000009', 'maestro'],
    ['589300000000', 'maestro'], // 12 digits
    ['6761000000000000', 'maestro'],
    ['9999999999999995', 'unknown'],
    ['1234567812345670', 'unknown'],
    ['4111111', 'unknown'], // too short for any brand
    ['4111-1111-1111-1111', 'unknown'], // not digits
  ];
  it.each(table)('%s → %s', (pan, brand) => expect(detectBrand(pan)).toBe(brand));
});

describe('expiry MM/YY', () => {
  it('parses two-digit years as 20YY', () => {
    expect(parseExpiry('01/30')).toEqual({ month: 1, year: 2030 });
    expect(parseExpiry('12/99')).toEqual({ month: 12, year: 2099 });
  });

  it.each(['13/25', '00/25', '1/25', '12/2025', '12-25', ' 12/25', '12/25 ', 'ab/cd', ''])('refuses %j without echoing it', (text) => {
    let caught: unknown;
    try {
      parseExpiry(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).code).toBe('ERR_INVALID_CARD');
    if (text.trim().length > 2) expect((caught as InputError).message).not.toContain(text.trim());
  });

  const table: [string, string, boolean][] = [
    // [exp, now (UTC), expired]
    ['12/25', '2025-12-31T23:59:59.999Z', false],
    ['12/25', '2026-01-01T00:00:00.000Z', true],
    ['02/24', '2024-02-29T12:00:00.000Z', false], // leap day is still inside February 2024
    ['02/24', '2024-03-01T00:00:00.000Z', true],
    ['02/25', '2025-02-28T23:59:59.999Z', false],
    ['02/25', '2025-03-01T00:00:00.000Z', true],
    ['06/30', '2026-01-01T00:00:00.000Z', false],
    ['01/20', '2026-01-01T00:00:00.000Z', true],
  ];
  it.each(table)('%s at %s → expired %s', (exp, now, expired) => {
    expect(isExpired(parseExpiry(exp), Date.parse(now))).toBe(expired);
    expect(isExpired(parseExpiry(exp), new Date(now))).toBe(expired);
  });

  it('expires at the first instant of the following month, UTC', () => {
    expect(new Date(expiresAt({ month: 12, year: 2025 })).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new Date(expiresAt({ month: 4, year: 2031 })).toISOString()).toBe('2031-05-01T00:00:00.000Z');
    expect(() => isExpired({ month: 1, year: 2030 }, Number.NaN)).toThrow(RangeError);
  });
});
