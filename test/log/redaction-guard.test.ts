import { createHash } from 'node:crypto';

/** Key-like bytes that are the same on every run, so the verdicts never depend on chance digit runs. */
const keyBytes = (n: number, label: string): Buffer => createHash('sha512').update(label).digest().subarray(0, n);
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DROP_REASONS,
  INVALID_FIELD_NAME,
  LOG_FIELDS_MAX,
  LOG_VALUE_MAX_CHARS,
  LogGuard,
  guardLogFields,
  type DroppedField,
} from '../../shared/log/redaction-guard.js';
import { luhnNumber } from './helpers.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('guardLogFields', () => {
  it('keeps ordinary operational fields unchanged', () => {
    const fields = {
      requestId: '3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e3f',
      ts: 1764355359000,
      at: '2026-11-28T18:42:39.123Z',
      port: 8080,
      durationMs: 12.37,
      ratio: 0.30000000000000004,
      ok: true,
      code: 'ERR_KMS_THROTTLED',
      errorName: 'KMSInvalidStateException',
      op: 'cards.tokenize',
      last4: '1111',
      nothing: null,
      cardCount: 4111,
    };
    expect(guardLogFields(fields)).toEqual({ fields, dropped: [] });
  });

  it.each([
    ['pan', 'card', '4111 1111 1111 1111'],
    ['pan', 'note', 'customer said 3782-822463-10005 is theirs'],
    ['pan', 'asNumber', 4111111111111111],
    ['key-material', 'dataKey', keyBytes(32, 'key 1').toString('base64')],
    ['key-material', 'hexKey', keyBytes(32, 'key 2').toString('hex')],
    ['key-material', 'pem', '-----BEGIN RSA PRIVATE KEY-----'],
    ['key-material', 'accessKeyId', 'AKIAIOSFODNN7EXAMPLE'],
    ['key-material', 'secretAccessKey', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['key-material', 'fingerprintish', SHA256],
    ['type', 'bytes', new Uint8Array([1, 2, 3])],
    ['type', 'nested', { pan: 'x' }],
    ['type', 'list', ['a']],
    ['type', 'big', 10n],
    ['type', 'nan', Number.NaN],
    ['type', 'inf', Number.POSITIVE_INFINITY],
    ['type', 'fn', () => 1],
    ['too-long', 'text', 'x'.repeat(LOG_VALUE_MAX_CHARS + 1)],
  ])('drops %s: %s', (reason, field, value) => {
    const out = guardLogFields({ keep: 'yes', [field]: value });
    expect(out.fields).toEqual({ keep: 'yes' });
    expect(out.dropped).toEqual([{ field, reason }]);
  });

  it('keeps a string of exactly the maximum length', () => {
    expect(guardLogFields({ text: 'x'.repeat(LOG_VALUE_MAX_CHARS) }).dropped).toEqual([]);
  });

  it('leaves undefined fields out without counting them', () => {
    expect(guardLogFields({ a: undefined, b: 1 })).toEqual({ fields: { b: 1 }, dropped: [] });
  });

  it('refuses bad field names without echoing them', () => {
    const out = guardLogFields({
      '4111111111111111': 'x',
      pan4111111111111111: 'x',
      ['k' + keyBytes(20, 'key 3').toString('hex')]: 'x',
      'has space': 'x',
      __proto__x: 'x',
      ['a'.repeat(65)]: 'x',
      '': 'x',
      ok: 'x',
    });
    expect(out.fields).toEqual({ ok: 'x' });
    expect(out.dropped.map((d) => d.field)).toEqual(Array(7).fill(INVALID_FIELD_NAME));
    expect(out.dropped.map((d) => d.reason).sort()).toEqual(['key-material', 'name', 'name', 'name', 'name', 'name', 'pan']);
  });

  it(`keeps at most ${LOG_FIELDS_MAX} fields`, () => {
    const many = Object.fromEntries(Array.from({ length: LOG_FIELDS_MAX + 3 }, (_, i) => [`f${i}`, i]));
    const out = guardLogFields(many);
    expect(Object.keys(out.fields)).toHaveLength(LOG_FIELDS_MAX);
    expect(out.dropped).toEqual([65, 66, 67].map((n) => ({ field: `f${n - 1}`, reason: 'too-many' })));
  });

  it('refuses a non-object event as a whole', () => {
    for (const bad of [null, [1], 'text']) {
      expect(guardLogFields(bad as unknown as Record<string, unknown>)).toEqual({
        fields: {},
        dropped: [{ field: INVALID_FIELD_NAME, reason: 'type' }],
      });
    }
  });
});

describe('digest allowlist', () => {
  it('lets allowlisted fields carry a whole hex digest', () => {
    const pcr0 = keyBytes(48, 'key 4').toString('hex');
    const colon = keyBytes(32, 'key 5').toString('hex').toUpperCase().match(/../g)!.join(':');
    const out = guardLogFields({ fingerprint: SHA256, pcr0, sha256: colon });
    expect(out).toEqual({ fields: { fingerprint: SHA256, pcr0, sha256: colon }, dropped: [] });
  });

  it('still checks anything else in those fields', () => {
    const out = guardLogFields({
      fingerprint: `sha256:${SHA256}`,
      pcr0: keyBytes(32, 'key 6').toString('base64'),
      digest: '4111111111111111',
      sha384: `${SHA256.slice(0, 32)}${SHA256.slice(32).toUpperCase()}`,
    });
    expect(out.fields).toEqual({});
    expect(out.dropped).toEqual([
      { field: 'fingerprint', reason: 'key-material' },
      { field: 'pcr0', reason: 'key-material' },
      { field: 'digest', reason: 'pan' },
      { field: 'sha384', reason: 'key-material' },
    ]);
  });

  it('is replaced, not extended, by the digestFields option', () => {
    expect(guardLogFields({ fingerprint: SHA256 }, { digestFields: ['certSha256'] }).dropped).toEqual([
      { field: 'fingerprint', reason: 'key-material' },
    ]);
    expect(guardLogFields({ certSha256: SHA256 }, { digestFields: ['certSha256'] }).dropped).toEqual([]);
  });
});

describe('guard properties (fast-check, fixed seed)', () => {
  it('any field containing a Luhn-valid 16-digit number is dropped', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        luhnNumber(16),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(' ', ': ', '=', '#', 'card '),
        (before, pan, after, glue) => {
          const out = guardLogFields({ msg: before + glue + pan + ' ' + after });
          return Object.keys(out.fields).length === 0 && out.dropped[0]?.reason === 'pan';
        },
      ),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('the output only ever holds scalars under valid names, never more than given', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), fc.anything(), { maxKeys: 20 }), (input) => {
        const out = guardLogFields(input);
        const given = Object.entries(input).filter(([, v]) => v !== undefined).length;
        return (
          Object.keys(out.fields).length + out.dropped.length === given &&
          Object.values(out.fields).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v)) &&
          out.dropped.every((d) => DROP_REASONS.includes(d.reason))
        );
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe('LogGuard', () => {
  it('counts drops by reason and reports each event to onDrop', () => {
    const seen: DroppedField[][] = [];
    const guard = new LogGuard({ onDrop: (d) => seen.push([...d]) });
    guard.guard({ a: '4111111111111111', b: 'fine' });
    guard.guard({ c: 'fine' });
    guard.guard({ d: keyBytes(16, 'key 7').toString('hex'), e: [1], f: 5555555555554444 });
    expect(guard.counts()).toEqual({ pan: 2, 'key-material': 1, type: 1, 'too-long': 0, name: 0, 'too-many': 0 });
    expect(seen).toEqual([
      [{ field: 'a', reason: 'pan' }],
      [
        { field: 'd', reason: 'key-material' },
        { field: 'e', reason: 'type' },
        { field: 'f', reason: 'pan' },
      ],
    ]);
  });

  it('hands out copies of its counters', () => {
    const guard = new LogGuard();
    const before = guard.counts();
    guard.guard({ x: [] });
    expect(before.type).toBe(0);
    expect(guard.counts().type).toBe(1);
  });

  it('uses its own digest allowlist', () => {
    const guard = new LogGuard({ digestFields: [] });
    expect(guard.guard({ fingerprint: SHA256 }).dropped).toEqual([{ field: 'fingerprint', reason: 'key-material' }]);
  });
});
