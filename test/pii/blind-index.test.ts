import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlindIndexer, normalise, type BlindIndexField } from '../../enclave/pii/blind-index.js';
import { InputError } from '../../shared/errors.js';

const KEY = new Uint8Array(32).map((_, i) => i * 7);

describe('blind-index normalisation tables', () => {
  // [field, spellings that must normalise alike, the normal form]
  const same: [BlindIndexField, string[], string][] = [
    ['email', ['John.Doe@Example.COM', '  john.doe@example.com ', 'JOHN.DOE@EXAMPLE.COM\t'], 'john.doe@example.com'],
    ['phone', ['(415) 555-2671', '415.555.2671', '+1 415 555 2671', '001 415 555 2671', '1-415-555-2671', '4155552671'], '+14155552671'],
    ['phone', ['+44 20 7946 0958', '0044 20 7946 0958', '+44 (20) 7946-0958'], '+442079460958'],
    ['ssn', ['123-45-6789', '123 45 6789', '123456789', ' 123-45-6789 '], '123456789'],
    ['name', ['José Álvarez', '  JOSÉ   ÁLVAREZ ', 'Jose\u0301 A\u0301lvarez', 'josé\u00a0álvarez', 'José\u200b Álvarez'], 'josé álvarez'],
    ['name', ['Straße', 'STRASSE', 'strasse'], 'strasse'],
    ['name', ['ΟΔΟΣ', 'οδος', 'οδοσ'], 'οδοσ'],
    ['name', ['Ｊｏｈｎ Ｓｍｉｔｈ', 'John Smith', 'john\tsmith'], 'john smith'],
    ['name', ['ﬁona', 'Fiona', 'FIONA'], 'fiona'],
  ];
  it.each(same)('%s: %j → %s', (field, spellings, normal) => {
    for (const s of spellings) expect(normalise(field, s)).toBe(normal);
  });

  it('uses the configured default country code for national phone numbers', () => {
    expect(normalise('phone', '020 7946 0958', '44')).toBe('+442079460958');
    expect(normalise('phone', '+1 415 555 2671', '44')).toBe('+14155552671');
    expect(normalise('phone', '06 12 34 56 78', '33')).toBe('+33612345678');
  });

  const invalid: [BlindIndexField, string][] = [
    ['email', 'no-at-sign'],
    ['email', 'a@b@c.com'],
    ['email', '@example.com'],
    ['email', 'user@'],
    ['email', 'jo hn@example.com'],
    ['phone', '555-2671'],
    ['phone', '+0 123 456 789'],
    ['phone', '+1234567890123456'],
    ['phone', '415-555-2671 ext 12'],
    ['ssn', '12-345-678'],
    ['ssn', '1234567890'],
    ['ssn', '123-45-678a'],
    ['name', ' \u200b\t '],
  ];
  it.each(invalid)('%s refuses %j with ERR_BAD_REQUEST, not echoing it', (field, value) => {
    let caught: unknown;
    try {
      normalise(field, value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).code).toBe('ERR_BAD_REQUEST');
    if (value.trim().length > 0) expect((caught as InputError).message).not.toContain(value.trim());
  });

  it('refuses unknown fields and oversize values', () => {
    expect(() => normalise('zip' as BlindIndexField, '12345')).toThrow(InputError);
    expect(() => normalise('name', 'a'.repeat(1025))).toThrow(InputError);
  });
});

describe('blind-index digests', () => {
  const indexer = new BlindIndexer(KEY);

  it('is HMAC-SHA256(key, "enclavekit/v1/blind-index/" ‖ field ‖ 0x00 ‖ normalised), lower-case hex', () => {
    const expected = createHmac('sha256', Buffer.from(KEY)).update('enclavekit/v1/blind-index/email\u0000john.doe@example.com').digest('hex');
    expect(indexer.digest('email', ' John.Doe@Example.com')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('two spellings of the same value give the same digest; other values do not', () => {
    expect(indexer.digest('email', 'John.Doe@Example.COM')).toBe(indexer.digest('email', 'john.doe@example.com '));
    expect(indexer.digest('phone', '(415) 555-2671')).toBe(indexer.digest('phone', '+14155552671'));
    expect(indexer.digest('email', 'john.doe@example.com')).not.toBe(indexer.digest('email', 'jane.doe@example.com'));
  });

  it('separates fields: the same normal form under two fields differs', () => {
    expect(normalise('ssn', '123456789')).toBe(normalise('name', '123456789'));
    expect(indexer.digest('ssn', '123456789')).not.toBe(indexer.digest('name', '123456789'));
  });

  it('depends on the key, keeps no reference to it, and stops after dispose()', () => {
    const key = KEY.slice();
    const own = new BlindIndexer(key);
    const before = own.digest('ssn', '123-45-6789');
    key.fill(0);
    expect(own.digest('ssn', '123-45-6789')).toBe(before);
    expect(new BlindIndexer(new Uint8Array(32).fill(1)).digest('ssn', '123-45-6789')).not.toBe(before);
    own.dispose();
    expect(() => own.digest('ssn', '123-45-6789')).toThrow(/disposed/);
    expect(() => new BlindIndexer(new Uint8Array(16))).toThrow(RangeError);
    expect(() => new BlindIndexer(KEY, { defaultCountryCode: '+44' })).toThrow(RangeError);
  });
});
