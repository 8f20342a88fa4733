/** Every byte of vector 3 changed (three masks) and every truncation: see mutation-helpers.ts for the allowed outcomes. */
import { describe, expect, it } from 'vitest';
import { openCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { failureOf, VECTOR_3, vector, vector3Key } from './helpers.js';
import { fixture, outcomeOf, tally, type Outcome } from './mutation-helpers.js';

describe('mutations of vector 3 (every byte; masks 01: lengths off by one, 20: primitive/constructed bit, ff)', () => {
  const f = fixture('vector 3', vector(VECTOR_3), vector3Key());

  it('every single-byte change is malformed, fails to decrypt, or (IV/content only) malleates', () => {
    const outcomes: Outcome[] = [];
    for (let offset = 0; offset < f.cms.byteLength; offset++) {
      for (const mask of [0x01, 0x20, 0xff]) {
        const mutated = f.cms.slice();
        mutated[offset]! ^= mask;
        outcomes.push(outcomeOf(f, mutated, [offset]));
      }
    }
    const counts = tally(outcomes);
    // Both error paths are exercised, and no flip leaves the message intact.
    expect(counts.ERR_CMS_MALFORMED).toBeGreaterThan(100);
    expect(counts.ERR_DECRYPT_FAILED).toBeGreaterThan(256); // at least the whole encryptedKey and rid
    expect(counts.original).toBe(0);
  });

  it('every truncation is ERR_CMS_MALFORMED', () => {
    for (let length = 0; length < f.cms.byteLength; length++) {
      expect(failureOf(() => openCiphertextForRecipient(f.cms.subarray(0, length), f.key))).toBe('ERR_CMS_MALFORMED');
    }
  });
});

