import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsPan, isPlausiblePan, maskUuids } from '../../shared/log/pan.js';
import { luhnNumber, nonLuhnNumber, withCheckDigit } from './helpers.js';

// Published test PANs (Stripe and PayPal sandbox documentation): each passes Luhn.
const PANS = {
  visa: '4111111111111111',
  visa13: '4222222222222',
  visaAlt: '4012888888881881',
  mastercard: '5555555555554444',
  mastercard2: '2223003122003222',
  amex: '378282246310005',
  discover: '6011111111111117',
  jcb: '3530111333300000',
  diners14: '30569309025904',
  unionpay: '6200000000000005',
  maestro: '6759649826438453',
} as const;

describe('containsPan: card numbers in the formats people write them', () => {
  it.each(Object.entries(PANS))('%s, ungrouped', (_, pan) => {
    expect(containsPan(pan)).toBe(true);
  });

  it.each([
    ['Visa 4-4-4-4 spaces', '4111 1111 1111 1111'],
    ['Visa 4-4-4-4 dashes', '4111-1111-1111-1111'],
    ['mixed separators', '4111-1111 1111-1111'],
    ['Amex 4-6-5', '3782 822463 10005'],
    ['Diners 4-6-4', '3056 930902 5904'],
    ['Mastercard in a sentence', 'charged card 5555 5555 5555 4444 for 12.50 EUR'],
    ['after a label', 'pan=4111111111111111;'],
    ['glued to letters', 'cache:pan4111111111111111x'],
    ['followed by an expiry group', '4111 1111 1111 1111 1228'],
    ['after a short number', 'qty 2 4111 1111 1111 1111'],
    ['19 digits, 4-4-4-4-3', `${withCheckDigit('411111111111111111').replace(/(\d{4})(?=\d)/g, '$1 ')}`],
    ['12-digit Maestro', withCheckDigit('50180000000')],
    ['13-digit Visa', '4222 2222 22222'],
    ['in JSON text', '{"card":"4012888888881881"}'],
  ])('%s', (_, text) => {
    expect(containsPan(text), text).toBe(true);
  });

  it('treats any single digit group over 19 digits as a PAN (documented)', () => {
    expect(containsPan('12345678901234567890')).toBe(true);
    expect(containsPan(`0${PANS.visa}0000`)).toBe(true);
  });
});

describe('containsPan: values logs are full of', () => {
  it.each([
    ['Luhn-failing 16 digits', '4111111111111112'],
    ['epoch ms', '1764355359000'],
    ['epoch ms, 2033+', '2000000000000'],
    ['ISO timestamp', '2026-11-28T18:42:39.123Z'],
    ['timestamp with space', '2026-11-28 18:42:39'],
    ['request id', '3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f'],
    ['all-digit UUID', '12345678-1234-4234-8234-123456789012'],
    ['port', '127.0.0.1:8080'],
    ['duration', '12.345'],
    ['float noise', '0.30000000000000004'],
    ['list of small numbers', 'took 250 3000 45 1200 17 ms'],
    ['phone', '+1 555 123 4567'],
    ['ARN with account id', 'arn:aws:iam::111122223333:role/enclave'],
    ['11 digits', '79927398713'],
  ])('%s stays', (_, text) => {
    expect(containsPan(text), text).toBe(false);
  });

  it('a 12/13-digit Luhn-valid run starting 1-3 or 7-9 stays (timestamps, account ids)', () => {
    expect(containsPan(withCheckDigit('12345678901'))).toBe(false);
    expect(containsPan(withCheckDigit('176435535900'))).toBe(false);
    expect(containsPan(withCheckDigit('912345678901'))).toBe(false);
    expect(isPlausiblePan(withCheckDigit('412345678901'))).toBe(true);
  });

  it('epoch-millisecond timestamps from 2001 to 2096 all stay (property)', () => {
    const from = Date.UTC(2001, 8, 9, 1, 46, 40); // 10^12 ms: the first 13-digit value
    fc.assert(fc.property(fc.integer({ min: from, max: 4e12 - 1 }), (ms) => !containsPan(String(ms))), { seed: 42, numRuns: 5000 });
  });

  it('UUIDs stay whatever their digits (property)', () => {
    fc.assert(fc.property(fc.uuid(), (id) => !containsPan(`request ${id} done`)), { seed: 42, numRuns: 2000 });
  });

  it('Luhn-failing numbers of 12-19 digits stay (property)', () => {
    fc.assert(
      fc.property(nonLuhnNumber(12, 19), (n) => !containsPan(n)),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('containsPan: properties', () => {
  // Context on either side, kept off the number by a character that ends a digit run or by a
  // separator: a PAN glued to other digits is checked as one longer number (pan.ts).
  const context = fc.string({ maxLength: 30 });
  const boundary = fc.constantFrom(' ', '=', ':', 'x', '/', '"', '\n');

  it('any text containing a Luhn-valid 16-digit number is caught', () => {
    fc.assert(
      fc.property(context, boundary, luhnNumber(16), boundary, context, (before, b1, pan, b2, after) =>
        containsPan(before + b1 + pan + b2 + after),
      ),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('grouped 4-4-4-4 with any mix of space and dash is caught', () => {
    fc.assert(
      fc.property(luhnNumber(16), fc.array(fc.constantFrom(' ', '-'), { minLength: 3, maxLength: 3 }), (pan, seps) => {
        const text = pan.slice(0, 4) + seps[0]! + pan.slice(4, 8) + seps[1]! + pan.slice(8, 12) + seps[2]! + pan.slice(12);
        return containsPan(text);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('PANs of every length from 14 to 19 are caught', () => {
    fc.assert(fc.property(luhnNumber(14, 19), (pan) => containsPan(`n=${pan}`)), { seed: 42, numRuns: 2000 });
  });
});

describe('maskUuids', () => {
  it('masks canonical UUIDs only, keeping length', () => {
    const text = 'id 3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f end';
    const masked = maskUuids(text);
    expect(masked.length).toBe(text.length);
    expect(masked).not.toMatch(/[0-9a-f]{4}/);
    expect(maskUuids('x3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f')).toMatch(/3f2b8c1e/);
  });
});
