/**
 * The content-encryption key is zeroed after use on both sides (docs/security.md, "Secrets hygiene"), on success and on
 * failure. node:crypto is wrapped so the test sees the very buffers the code received: the CEK
 * from randomBytes(32) when building, and the CEK from privateDecrypt when opening.
 */
import type * as Crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const seen = vi.hoisted(() => ({ random: [] as Buffer[], decrypted: [] as Buffer[] }));

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  const randomBytes = ((size: number) => {
    const bytes = actual.randomBytes(size);
    seen.random.push(bytes);
    return bytes;
  }) as typeof actual.randomBytes;
  const privateDecrypt: typeof actual.privateDecrypt = (key, buffer) => {
    const bytes = actual.privateDecrypt(key, buffer);
    seen.decrypted.push(bytes);
    return bytes;
  };
  return { ...actual, default: { ...actual, randomBytes, privateDecrypt }, randomBytes, privateDecrypt };
});

const { openCiphertextForRecipient } = await import('../../enclave/kms/recipient-cms.js');
const { buildCiphertextForRecipient, encodeEnvelopedData } = await import('../../sim/kms/recipient-cms.js');
const { DecryptionFailedError } = await import('../../shared/errors.js');
const { withSecret, zero } = await import('../../shared/secure-buffer.js');
const { hex, vector3Key, vector3Spki } = await import('./helpers.js');
const crypto = await import('node:crypto');

const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);

beforeEach(() => {
  seen.random.length = 0;
  seen.decrypted.length = 0;
});

describe('CEK zeroing', () => {
  it('build zeroes the CEK it drew (and not the IV, which is public)', () => {
    const cms = buildCiphertextForRecipient(new Uint8Array(32).fill(1), vector3Spki());
    const ceks = seen.random.filter((b) => b.byteLength === 32);
    const ivs = seen.random.filter((b) => b.byteLength === 16);
    expect(ceks).toHaveLength(1);
    expect(ivs).toHaveLength(1);
    expect(isZero(ceks[0]!)).toBe(true);
    expect(isZero(ivs[0]!)).toBe(false);
    // And the zeroing happened after use: the result still opens.
    expect(hex(openCiphertextForRecipient(cms, vector3Key()))).toBe('01'.repeat(32));
  });

  it('open zeroes the unwrapped CEK after success', () => {
    const cms = buildCiphertextForRecipient(new Uint8Array(32).fill(2), vector3Spki());
    seen.decrypted.length = 0;
    expect(hex(openCiphertextForRecipient(cms, vector3Key()))).toBe('02'.repeat(32));
    expect(seen.decrypted).toHaveLength(1);
    expect(seen.decrypted[0]!.byteLength).toBe(32);
    expect(isZero(seen.decrypted[0]!)).toBe(true);
  });

  it('open zeroes the unwrapped CEK when the content fails (bad padding, wrong CEK length)', () => {
    const rid = crypto.createHash('sha256').update(vector3Spki()).digest();
    const publicKey = crypto.createPublicKey(vector3Key());
    const wrap = (cek: Uint8Array) =>
      crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    const iv = new Uint8Array(16);
    const cek = new Uint8Array(32).fill(3);
    const noPadding = crypto.createCipheriv('aes-256-cbc', cek, iv).setAutoPadding(false);
    const badPadding = Buffer.concat([noPadding.update(new Uint8Array(16)), noPadding.final()]);
    const cases = [
      encodeEnvelopedData({ rid, encryptedKey: wrap(cek), iv, ciphertext: badPadding }),
      encodeEnvelopedData({ rid, encryptedKey: wrap(new Uint8Array(16).fill(4)), iv, ciphertext: badPadding }),
    ];
    for (const cms of cases) {
      seen.decrypted.length = 0;
      expect(() => openCiphertextForRecipient(cms, vector3Key())).toThrow(DecryptionFailedError);
      expect(seen.decrypted).toHaveLength(1);
      expect(isZero(seen.decrypted[0]!)).toBe(true);
    }
  });
});

describe('shared/secure-buffer', () => {
  it('zero() clears every given buffer and skips undefined', () => {
    const a = new Uint8Array([1, 2, 3]);
    const b = Buffer.from([4, 5]);
    zero(a, undefined, b);
    expect([...a, ...b]).toEqual([0, 0, 0, 0, 0]);
  });

  it('withSecret() returns the result and zeroes the secret, also when the callback throws', () => {
    const secret = new Uint8Array([9, 9]);
    expect(withSecret(secret, (s) => s[0]! + s[1]!)).toBe(18);
    expect([...secret]).toEqual([0, 0]);
    const other = new Uint8Array([7]);
    expect(() =>
      withSecret(other, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect([...other]).toEqual([0]);
  });
});
