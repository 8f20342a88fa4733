/**
 * Random damage (fast-check, seed 42) to our own form A, form B and multi-chunk output: 1-4 byte
 * flips, insertions and deletions. See mutation-helpers.ts for the allowed outcomes.
 */
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCiphertextForRecipient } from '../../sim/kms/recipient-cms.js';
import { hex, nodeAt, replaceAt, rsaKeys } from './helpers.js';
import { fixture, outcomeOf, tally, type Outcome } from './mutation-helpers.js';

describe('random damage to our own output (fast-check, seed 42)', () => {
  const keys = rsaKeys(2048);
  const dataKey = new Uint8Array(randomBytes(32));
  const formA = fixture('ours, form A', buildCiphertextForRecipient(dataKey, keys.spki), keys.privateKey);
  // Same parts with encryptedContent as one implicit primitive (form B, the sdk-c "w_ctx" vector).
  const formB = fixture(
    'ours, form B',
    replaceAt(formA.cms, [1, 0, 2, 2], (old) =>
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: (nodeAt(old, [0]) as asn1js.OctetString).valueBlock.valueHexView }),
    ),
    keys.privateKey,
  );
  // A multi-chunk body (2048 bytes → three 1000-byte chunks), so chunk boundaries get hit too.
  const chunked = fixture('ours, 3 chunks', buildCiphertextForRecipient(new Uint8Array(2048).fill(0x61), keys.spki), keys.privateKey);

  it('the fixtures open to their plaintexts', () => {
    expect(formA.plaintext).toBe(hex(dataKey));
    expect(formB.plaintext).toBe(hex(dataKey));
    expect(formB.cms.byteLength).toBeLessThan(formA.cms.byteLength);
  });

  for (const f of [formA, formB, chunked]) {
    it(`${f.name}: 1-4 byte flips anywhere`, () => {
      const outcomes: Outcome[] = [];
      fc.assert(
        fc.property(
          fc.array(fc.record({ offset: fc.nat(f.cms.byteLength - 1), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
          (flips) => {
            const mutated = f.cms.slice();
            for (const { offset, mask } of flips) mutated[offset]! ^= mask;
            const changed = [...new Set(flips.map((flip) => flip.offset))].filter((offset) => mutated[offset] !== f.cms[offset]);
            if (changed.length === 0) return; // two flips cancelled out
            outcomes.push(outcomeOf(f, mutated, changed));
          },
        ),
        { seed: 42, numRuns: 300 },
      );
      const counts = tally(outcomes);
      expect(counts.ERR_CMS_MALFORMED + counts.ERR_DECRYPT_FAILED).toBeGreaterThan(0);
      expect(counts.original).toBe(0);
    });

    it(`${f.name}: inserted or deleted bytes`, () => {
      fc.assert(
        fc.property(
          fc.nat(f.cms.byteLength),
          fc.uint8Array({ minLength: 0, maxLength: 8 }),
          fc.nat(8),
          (offset, inserted, deleted) => {
            if (inserted.byteLength === 0 && deleted === 0) return;
            const mutated = new Uint8Array([...f.cms.subarray(0, offset), ...inserted, ...f.cms.subarray(offset + deleted)]);
            // Same length in and out: an overwrite in place, so the changed offsets are known.
            const changed =
              mutated.byteLength === f.cms.byteLength
                ? Array.from({ length: deleted }, (_, i) => offset + i).filter((i) => mutated[i] !== f.cms[i])
                : 'shifted';
            const outcome = outcomeOf(f, mutated, changed);
            if (outcome === 'original') {
              // Possible only when the edit rebuilt the same bytes (e.g. deleting and re-inserting them).
              expect(hex(mutated)).toBe(hex(f.cms));
            }
          },
        ),
        { seed: 42, numRuns: 300 },
      );
    });
  }
});
