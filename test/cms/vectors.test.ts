/**
 * The public CiphertextForRecipient samples (test/vectors/kms/, README "kms/"): the two
 * aws-nitro-enclaves-sdk-c cms_test.c vectors (forms A and B, parse only) and the enclaver
 * vector with its private key (full open).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { expectedVectors, hex, VECTOR_1, VECTOR_2, VECTOR_3, vector, vector3Key, vector3Spki } from './helpers.js';

describe('KMS CMS vectors', () => {
  const expected = expectedVectors();

  it('vector 1 (sdk-c "CMS response from KMS", form A) parses to the sdk-c expected parts', () => {
    const parsed = parseCiphertextForRecipient(vector(VECTOR_1));
    expect(hex(parsed.encryptedKey)).toBe(expected.encrypted_key_out);
    expect(hex(parsed.iv)).toBe(expected.iv_out);
    expect(hex(parsed.ciphertext)).toBe(expected.ciphertext_out);
    expect(parsed.recipientKeyId.byteLength).toBe(32);
  });

  it('vector 2 (sdk-c, form B: implicit primitive encryptedContent) parses to the expected parts', () => {
    const parsed = parseCiphertextForRecipient(vector(VECTOR_2));
    expect(hex(parsed.encryptedKey)).toBe(expected.encrypted_key_out_w_ctx);
    expect(hex(parsed.iv)).toBe(expected.iv_out_w_ctx);
    expect(hex(parsed.ciphertext)).toBe(expected.ciphertext_out_w_ctx);
  });

  it('vector 3 (enclaver) parses to the parts docs/formats.md 5.3 lists; rid = SHA-256(SPKI)', () => {
    const parsed = parseCiphertextForRecipient(vector(VECTOR_3));
    expect(hex(parsed.recipientKeyId)).toBe('fb09e9af2940ddcf0d2bbf6358c983af46fc5fdcedbca251d54ceab4d069cd89');
    expect(hex(parsed.recipientKeyId)).toBe(createHash('sha256').update(vector3Spki()).digest('hex'));
    expect(hex(parsed.iv)).toBe('2c2ff1116ae6f8573fd58fd44f980624');
    expect(hex(parsed.ciphertext)).toBe('263a97b73a5ef0ad5db0274af9fc290c');
    expect(parsed.encryptedKey.byteLength).toBe(256);
  });

  it('vector 3 opens to "Hello, World" with its PKCS#8 key', () => {
    const plaintext = openCiphertextForRecipient(vector(VECTOR_3), vector3Key());
    expect(Buffer.from(plaintext).toString('utf8')).toBe('Hello, World');
  });

  it('parsed parts are copies: changing them leaves the input alone', () => {
    const cms = vector(VECTOR_3);
    const before = hex(cms);
    const parsed = parseCiphertextForRecipient(cms);
    parsed.iv.fill(0);
    parsed.ciphertext.fill(0);
    parsed.encryptedKey.fill(0);
    parsed.recipientKeyId.fill(0);
    expect(hex(cms)).toBe(before);
  });
});
