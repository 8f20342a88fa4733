import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmac, type HmacHash } from '../../shared/crypto/hmac.js';
import { patternBytes } from '../helpers/pattern-bytes.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** RFC 4231 §4 test cases (HMAC-SHA-256 and HMAC-SHA-512; case 5's truncated output is left out). */
const RFC4231: { name: string; key: Buffer; data: Buffer; sha256: string; sha512: string }[] = [
  {
    name: '4.2 (20-byte key)',
    key: Buffer.alloc(20, 0x0b),
    data: Buffer.from('Hi There'),
    sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    sha512: '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    name: '4.3 (key shorter than the output)',
    key: Buffer.from('Jefe'),
    data: Buffer.from('what do ya want for nothing?'),
    sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    sha512: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    name: '4.4 (50 bytes of 0xdd)',
    key: Buffer.alloc(20, 0xaa),
    data: Buffer.alloc(50, 0xdd),
    sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    sha512: 'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
  },
  {
    name: '4.5 (25-byte key)',
    key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: Buffer.alloc(50, 0xcd),
    sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    sha512: 'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
  },
  {
    name: '4.7 (131-byte key, longer than a SHA-256 and a SHA-512 block)',
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    sha512: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
  {
    name: '4.8 (131-byte key, long data)',
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    sha512: 'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
  },
];

describe('hmac (RFC 2104 on one-shot hashes)', () => {
  for (const vector of RFC4231) {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      it(`RFC 4231 ${vector.name}, HMAC-${algorithm.toUpperCase()}`, () => {
        expect(hmac(algorithm, vector.key, vector.data).toString('hex')).toBe(vector[algorithm]);
      });
    }
  }

  it('agrees with createHmac on keys of 0-200 bytes (each side of both block sizes) and messages given whole or in parts', () => {
    // Every 7th length, and each block size (64, 128) with its neighbours: a key longer than the
    // block is hashed first, one of exactly a block is not.
    const keyLengths = [...Array.from({ length: 29 }, (_, i) => i * 7), 63, 64, 65, 127, 128, 129];
    for (const algorithm of ['sha256', 'sha512'] satisfies HmacHash[]) {
      for (const keyLength of keyLengths) {
        // Fixed inputs on every run (xorshift32 with seeds from the lengths).
        const key = patternBytes(keyLength, 0x5eed + keyLength);
        const message = patternBytes((keyLength * 13) % 301, 0xface + keyLength);
        const expected = createHmac(algorithm, key).update(message).digest('hex');
        expect(hmac(algorithm, key, message).toString('hex')).toBe(expected);
        const cut = [0, Math.floor(message.length / 3), Math.floor(message.length / 2), message.length];
        const parts = [message.subarray(cut[0], cut[1]), message.subarray(cut[1], cut[2]), message.subarray(cut[2], cut[3])];
        expect(hmac(algorithm, key, parts).toString('hex')).toBe(expected);
      }
    }
  });

  it('leaves the caller’s key and message unchanged', () => {
    const key = Buffer.alloc(200, 0x42);
    const message = Buffer.alloc(40, 0x17);
    hmac('sha256', key, [message, message]);
    expect(key.every((byte) => byte === 0x42)).toBe(true);
    expect(message.every((byte) => byte === 0x17)).toBe(true);
  });
});
