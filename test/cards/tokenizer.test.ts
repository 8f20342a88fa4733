import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCardRecord } from '../../enclave/cards/card-record.js';
import { Ff1 } from '../../enclave/cards/ff1.js';
import { luhnCheckDigit } from '../../enclave/cards/luhn.js';
import { tokenizeCard } from '../../enclave/cards/tokenize-card.js';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { InputError } from '../../shared/errors.js';

const KEY_A = new Uint8Array(32).map((_, i) => i + 1);
const KEY_B = new Uint8Array(32).map((_, i) => 255 - i);

/** PANs of the given length range, digits only (Luhn-valid or not: the tokenizer takes both). */
const pan = (min = 14, max = 19) =>
  fc.integer({ min, max }).chain((len) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: len, maxLength: len }).map((d) => d.join('')));

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('tokenizer properties (fast-check, fixed seed)', () => {
  const a = new Tokenizer(KEY_A);
  const b = new Tokenizer(KEY_B);

  it('keeps the length, the first 6 and the last 4 digits; the token is all digits', () => {
    fc.assert(
      fc.property(pan(), (p) => {
        const token = a.tokenize(p);
        expect(token).toHaveLength(p.length);
        expect(token).toMatch(/^[0-9]+$/);
        expect(token.slice(0, 6)).toBe(p.slice(0, 6));
        expect(token.slice(-4)).toBe(p.slice(-4));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('is deterministic, across instances with the same key', () => {
    const again = new Tokenizer(KEY_A.slice());
    fc.assert(
      fc.property(pan(), (p) => {
        expect(a.tokenize(p)).toBe(a.tokenize(p));
        expect(again.tokenize(p)).toBe(a.tokenize(p));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('detokenize inverts tokenize (direct FF1 and cycle-walked lengths)', () => {
    fc.assert(
      fc.property(pan(), (p) => {
        expect(a.detokenize(a.tokenize(p))).toBe(p);
        expect(a.tokenize(a.detokenize(p))).toBe(p);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('different keys give different tokens (16-19 digits: collision chance ≤ 10^-6 each)', () => {
    fc.assert(
      fc.property(pan(16, 19), (p) => {
        expect(b.tokenize(p)).not.toBe(a.tokenize(p));
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('different keys give different tokens for short middles too, almost always', () => {
    let same = 0;
    for (let i = 0; i < 200; i++) {
      const p = `378282${String(i * 37).padStart(5, '0')}0005`; // 15 digits, 5-digit middle
      if (a.tokenize(p) === b.tokenize(p)) same++;
    }
    expect(same).toBeLessThanOrEqual(2); // expected 200 · 10^-5
  });

  it('the visible digits are bound into the tweak: equal middles under other BINs map differently', () => {
    let same = 0;
    for (let i = 0; i < 100; i++) {
      const middle = String(i * 9973).padStart(6, '0');
      if (a.tokenize(`411111${middle}1111`).slice(6, 12) === a.tokenize(`422222${middle}1111`).slice(6, 12)) same++;
    }
    expect(same).toBeLessThanOrEqual(1);
  });

  it('is a bijection on a (BIN, last 4) bucket (sampled for 16 digits, exhaustive for 14)', () => {
    const seen = new Set<string>();
    for (let m = 0; m < 3000; m++) seen.add(a.tokenize(`411111${String(m * 331).padStart(6, '0')}1111`));
    expect(seen.size).toBe(3000);
    // 14 digits: all 10^4 middles, cycle-walked on the 6-digit FF1 domain. Sampled every 7th to keep
    // the test fast (~100 FF1 calls each); the images must be distinct 4-digit middles.
    const short = new Set<string>();
    for (let m = 0; m < 10_000; m += 7) {
      const token = a.tokenize(`305693${String(m).padStart(4, '0')}5904`);
      expect(token).toHaveLength(14);
      short.add(token);
    }
    expect(short.size).toBe(Math.ceil(10_000 / 7));
  });
});

describe('tokenizer contract', () => {
  it('follows the documented tweak: T = 0x01 ‖ ASCII(first 6) ‖ ASCII(last 4) ‖ [length]', () => {
    const p = '4111111111111111';
    const tweak = new Uint8Array([0x01, ...Buffer.from('411111', 'ascii'), ...Buffer.from('1111', 'ascii'), 16]);
    const expected = `411111${new Ff1(KEY_A, 10).encrypt('111111', tweak)}1111`;
    expect(new Tokenizer(KEY_A).tokenize(p)).toBe(expected);
  });

  it('cycle-walks 15-digit middles on a 6-digit FF1 domain, as documented', () => {
    const p = '378282246310005';
    const tweak = new Uint8Array([0x01, ...Buffer.from('378282', 'ascii'), ...Buffer.from('0005', 'ascii'), 15]);
    const ff1 = new Ff1(KEY_A, 10);
    let value = '024631';
    do value = ff1.encrypt(value, tweak);
    while (Number(value) >= 100_000);
    expect(new Tokenizer(KEY_A).tokenize(p)).toBe(`378282${value.slice(1)}0005`);
  });

  it('refuses PANs shorter than 14 digits, longer than 19, or not digits, without echoing them', () => {
    const t = new Tokenizer(KEY_A);
    for (const bad of ['4222222222222', '589300000000', '41111111111111111111', '4111 1111 1111 1111', '', '411111111111111x']) {
      const error = errorOf(() => t.tokenize(bad));
      expect(error.code).toBe('ERR_INVALID_CARD');
      if (bad.length > 0) expect(error.message).not.toContain(bad);
    }
    expect(errorOf(() => t.detokenize('abc')).code).toBe('ERR_INVALID_TOKEN');
    expect(errorOf(() => t.detokenize('4111')).code).toBe('ERR_INVALID_TOKEN');
  });

  it('needs a 32-byte key, keeps no reference to it, and stops after dispose()', () => {
    expect(() => new Tokenizer(new Uint8Array(16))).toThrow(RangeError);
    const key = KEY_A.slice();
    const t = new Tokenizer(key);
    const before = new Tokenizer(KEY_A).tokenize('4111111111111111');
    key.fill(0);
    expect(t.tokenize('4111111111111111')).toBe(before);
    t.dispose();
    expect(() => t.tokenize('4111111111111111')).toThrow(/disposed/);
  });

  it('a full tokenize answer: token, bin, last4, brand, luhnValid, expired', () => {
    const t = new Tokenizer(KEY_A);
    const card = parseCardRecord(new TextEncoder().encode('{"pan":"4111 1111 1111 1111","exp":"12/25","cvc":"123"}'));
    const result = tokenizeCard(t, card, Date.parse('2026-01-01T00:00:00Z'));
    expect(result).toEqual({
      token: t.tokenize('4111111111111111'),
      bin: '411111',
      last4: '1111',
      brand: 'visa',
      luhnValid: true,
      expired: true,
    });
    expect(Object.keys(result).sort()).toEqual(['bin', 'brand', 'expired', 'last4', 'luhnValid', 'token']);
    const bad = `411111111111111${(luhnCheckDigit('411111111111111') + 5) % 10}`;
    const unchecked = tokenizeCard(t, parseCardRecord(new TextEncoder().encode(`{"pan":"${bad}","exp":"01/40"}`)), 0);
    expect(unchecked.luhnValid).toBe(false);
    expect(unchecked.expired).toBe(false);
  });
});
