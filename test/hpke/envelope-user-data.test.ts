import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { AttestationError, InputError } from '../../shared/errors.js';
import { decodeSealedEnvelope, encodeSealedEnvelope } from '../../shared/hpke/envelope.js';
import { decodeHpkeUserData, encodeHpkeUserData } from '../../shared/hpke/user-data.js';

const PK = new Uint8Array(32).map((_, i) => i + 100);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError || error instanceof AttestationError) return error.code;
    throw error;
  }
  return 'none';
}

describe('user_data encoding of the HPKE key', () => {
  it('is the documented CBOR map and round trips', () => {
    const bytes = encodeHpkeUserData(PK);
    const root = decodeCbor(bytes) as Map<string, unknown>;
    expect([...root.keys()]).toEqual(['enclavekit', 'hpke']);
    expect(root.get('enclavekit')).toBe(1);
    const hpke = root.get('hpke') as Map<string, unknown>;
    expect([...hpke.keys()]).toEqual(['kem', 'kdf', 'aead', 'pk']);
    expect([hpke.get('kem'), hpke.get('kdf'), hpke.get('aead')]).toEqual([0x20, 0x01, 0x02]);
    // Byte-level: a 2-entry map whose first key is the text "enclavekit".
    expect(Buffer.from(bytes.subarray(0, 12)).toString('hex')).toBe('a26a656e636c6176656b6974');
    expect(bytes.length).toBeLessThan(100);
    const decoded = decodeHpkeUserData(bytes);
    expect(decoded.version).toBe(1);
    expect(Buffer.from(decoded.hpke.publicKey).equals(Buffer.from(PK))).toBe(true);
  });

  it('ignores unknown top-level keys (forward compatible)', () => {
    const withExtra = encodeCbor(
      new Map<string, unknown>([
        ['enclavekit', 1],
        ['hpke', new Map<string, unknown>([['kem', 32], ['kdf', 1], ['aead', 2], ['pk', PK]])],
        ['configSha384', new Uint8Array(48)],
      ]),
    );
    expect(decodeHpkeUserData(withExtra).hpke.publicKey).toHaveLength(32);
  });

  const hpke = (entries: [string, unknown][]) => encodeCbor(new Map<string, unknown>([['enclavekit', 1], ['hpke', new Map(entries)]]));
  const bad: [string, Uint8Array | null][] = [
    ['null', null],
    ['empty', new Uint8Array(0)],
    ['not CBOR', new Uint8Array([0xff, 0x00])],
    ['a CBOR array', encodeCbor([1, 2])],
    ['version 2', encodeCbor(new Map<string, unknown>([['enclavekit', 2], ['hpke', new Map()]]))],
    ['no hpke entry', encodeCbor(new Map<string, unknown>([['enclavekit', 1]]))],
    ['another KEM (P-256)', hpke([['kem', 0x10], ['kdf', 1], ['aead', 2], ['pk', PK]])],
    ['another AEAD (AES-128-GCM)', hpke([['kem', 32], ['kdf', 1], ['aead', 1], ['pk', PK]])],
    ['a short key', hpke([['kem', 32], ['kdf', 1], ['aead', 2], ['pk', PK.subarray(0, 31)]])],
    ['a key as text', hpke([['kem', 32], ['kdf', 1], ['aead', 2], ['pk', 'abc']])],
    ['an unknown hpke key', hpke([['kem', 32], ['kdf', 1], ['aead', 2], ['pk', PK], ['mode', 0]])],
    ['too large', new Uint8Array(2000)],
  ];
  it.each(bad)('refuses %s with ERR_ATTESTATION_MALFORMED', (_label, bytes) => {
    expect(code(() => decodeHpkeUserData(bytes))).toBe('ERR_ATTESTATION_MALFORMED');
  });

  it('refuses to encode a key of the wrong size', () => {
    expect(() => encodeHpkeUserData(new Uint8Array(33))).toThrow(RangeError);
  });
});

describe('sealed envelope JSON', () => {
  const sealed = { enc: new Uint8Array(32).fill(1), ciphertext: new Uint8Array(40).fill(2) };

  it('round trips, with and without sender', () => {
    const json = encodeSealedEnvelope(sealed);
    expect(Object.keys(json)).toEqual(['enc', 'ciphertext']);
    const back = decodeSealedEnvelope(JSON.parse(JSON.stringify(json)));
    expect(Buffer.from(back.enc).equals(Buffer.from(sealed.enc))).toBe(true);
    expect(back.sender).toBeUndefined();
    const withSender = decodeSealedEnvelope(encodeSealedEnvelope({ ...sealed, sender: PK }));
    expect(Buffer.from(withSender.sender!).equals(Buffer.from(PK))).toBe(true);
  });

  const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
  const bad: [string, unknown][] = [
    ['null', null],
    ['an array', []],
    ['a missing enc', { ciphertext: b64(20) }],
    ['enc of 31 bytes', { enc: b64(31), ciphertext: b64(20) }],
    ['enc as bytes', { enc: [1, 2], ciphertext: b64(20) }],
    ['non-base64 characters', { enc: b64(32), ciphertext: `${b64(18)}*!` }],
    ['base64url', { enc: Buffer.alloc(32, 0xfb).toString('base64url'), ciphertext: b64(20) }],
    ['missing padding', { enc: b64(32).replace(/=+$/, ''), ciphertext: b64(20) }],
    ['an unknown field', { enc: b64(32), ciphertext: b64(20), mode: 'auth' }],
    ['a short sender', { enc: b64(32), ciphertext: b64(20), sender: b64(16) }],
  ];
  it.each(bad)('refuses %s with ERR_SEALED_INPUT_MALFORMED', (_label, value) => {
    expect(code(() => decodeSealedEnvelope(value))).toBe('ERR_SEALED_INPUT_MALFORMED');
  });
});
