import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CARD_RECORD_MAX_BYTES, maskPan, parseCardRecord } from '../../enclave/cards/card-record.js';
import { InputError } from '../../shared/errors.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const PAN = '4111111111111111';

function refusal(input: Uint8Array): InputError {
  try {
    parseCardRecord(input);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('card record parsing', () => {
  it('parses the documented shape and normalises spaces and hyphens in the PAN', () => {
    const card = parseCardRecord(bytes('{"pan":"4111 1111-1111 1111","exp":"09/31","cvc":"123","name":"  Ada Lovelace "}'));
    expect(card.pan).toBe(PAN);
    expect(card.expiry).toEqual({ month: 9, year: 2031 });
    expect(card.cvc).toBe('123');
    expect(card.name).toBe('Ada Lovelace');
    const minimal = parseCardRecord(bytes(`{"pan":"${PAN}","exp":"09/31"}`));
    expect(minimal.cvc).toBeNull();
    expect(minimal.name).toBeNull();
  });

  it('wants a 4-digit CVC for American Express and 3 digits otherwise', () => {
    expect(parseCardRecord(bytes('{"pan":"378282246310005","exp":"01/30","cvc":"1234"}')).cvc).toBe('1234');
    expect(refusal(bytes('{"pan":"378282246310005","exp":"01/30","cvc":"123"}')).code).toBe('ERR_INVALID_CARD');
    expect(refusal(bytes(`{"pan":"${PAN}","exp":"01/30","cvc":"1234"}`)).code).toBe('ERR_INVALID_CARD');
  });

  const refused: [string, string][] = [
    ['not JSON', `{"pan":"${PAN}",`],
    ['a JSON array', `["${PAN}"]`],
    ['JSON null', 'null'],
    ['an unknown field', `{"pan":"${PAN}","exp":"01/30","track2":"${PAN}=3001"}`],
    ['a numeric PAN', '{"pan":4111111111111111,"exp":"01/30"}'],
    ['a PAN with letters', '{"pan":"4111111111111a11","exp":"01/30"}'],
    ['an 11-digit PAN', '{"pan":"41111111111","exp":"01/30"}'],
    ['a 20-digit PAN', '{"pan":"41111111111111111111","exp":"01/30"}'],
    ['a missing PAN', '{"exp":"01/30"}'],
    ['a missing exp', `{"pan":"${PAN}"}`],
    ['exp as YYYY-MM', `{"pan":"${PAN}","exp":"2030-01"}`],
    ['a numeric CVC', `{"pan":"${PAN}","exp":"01/30","cvc":123}`],
    ['a name with a control character', `{"pan":"${PAN}","exp":"01/30","name":"Ada\\u0007"}`],
    ['an empty name', `{"pan":"${PAN}","exp":"01/30","name":"   "}`],
    ['a name too long', `{"pan":"${PAN}","exp":"01/30","name":"${'x'.repeat(101)}"}`],
  ];
  it.each(refused)('refuses %s with ERR_INVALID_CARD, echoing nothing', (_label, text) => {
    const error = refusal(bytes(text));
    expect(error.code).toBe('ERR_INVALID_CARD');
    const exposed = `${error.message} ${JSON.stringify(error)} ${String(error.cause ?? '')}`;
    expect(exposed).not.toContain('4111');
    expect(exposed).not.toContain('123');
    expect(error.cause).toBeUndefined();
  });

  it('refuses invalid UTF-8, oversize records and non-bytes', () => {
    expect(refusal(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])).code).toBe('ERR_INVALID_CARD');
    const big = bytes(`{"pan":"${PAN}","exp":"01/30","name":"${'a'.repeat(CARD_RECORD_MAX_BYTES)}"}`);
    expect(refusal(big).message).toMatch(/too large/);
    expect(() => parseCardRecord('{}' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('masks itself in JSON and in util.inspect / console output', () => {
    const card = parseCardRecord(bytes(`{"pan":"${PAN}","exp":"09/31","cvc":"987","name":"Ada Lovelace"}`));
    for (const shown of [JSON.stringify(card), inspect(card), inspect({ nested: card })]) {
      expect(shown).toContain('411111******1111');
      expect(shown).not.toContain(PAN);
      expect(shown).not.toContain('987');
      expect(shown).not.toContain('Lovelace');
    }
    expect(Object.isFrozen(card)).toBe(true);
  });

  it('maskPan keeps at most the BIN and the last 4', () => {
    expect(maskPan('378282246310005')).toBe('378282*****0005');
    expect(maskPan('123456789')).toBe('*********');
  });
});
