// Random mutations of real documents only ever produce an AttestationError (an EnclaveKitError):
// never another exception, never a pass. Fixed seed, bounded runs (so a failure reproduces).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChainCache, parseAttestation, verifyAttestation } from '../../shared/attestation/index.js';
import { AttestationError, EnclaveKitError } from '../../shared/errors.js';
import { loadDoc } from './helpers.js';

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; count: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const byte = fc.integer({ min: 0, max: 255 });

const mutation: fc.Arbitrary<{ kind: Mutation['kind']; where: number; value: number; count: number }> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'duplicate'),
  where: position,
  value: byte,
  count: fc.integer({ min: 1, max: 64 }),
});

function apply(doc: Uint8Array, steps: { kind: Mutation['kind']; where: number; value: number; count: number }[]): Uint8Array {
  let bytes = Buffer.from(doc);
  for (const step of steps) {
    const at = Math.floor(step.where * bytes.length);
    switch (step.kind) {
      case 'flip':
        bytes[at] = (bytes[at] as number) ^ (step.value === 0 ? 1 : step.value);
        break;
      case 'set':
        bytes[at] = step.value;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.of(step.value), bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + step.count)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + step.count), bytes.subarray(at)]);
        break;
    }
  }
  return new Uint8Array(bytes);
}

describe('random mutations never pass and only raise AttestationError', () => {
  for (const file of ['real_doc_1.cbor', 'real_doc_11.cbor', 'real_doc_17.cbor']) {
    it(file, () => {
      const doc = loadDoc(file);
      const timestamp = parseAttestation(doc).timestamp;
      const cache = new ChainCache();
      const tagged = Buffer.concat([Buffer.of(0xd2), doc]);
      let rejected = 0;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (steps) => {
          const mutated = apply(doc, steps);
          // The only byte changes that keep the same signed content: none, or the tag-18 prefix.
          fc.pre(!Buffer.from(mutated).equals(doc) && !Buffer.from(mutated).equals(tagged));
          let thrown: unknown;
          try {
            verifyAttestation(mutated, { at: timestamp, anyPcrs: true, allowDebug: true, cache });
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(EnclaveKitError);
          expect(thrown).toBeInstanceOf(AttestationError);
          rejected += 1;
        }),
        { seed: 42, numRuns: 1000 },
      );
      expect(rejected).toBeGreaterThan(900);
    });
  }

  it('parseAttestation on random bytes and random CBOR-looking prefixes throws only MALFORMED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom([], [0x84], [0xd2, 0x84], [0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]), (tail, prefix) => {
        try {
          parseAttestation(new Uint8Array([...prefix, ...tail]));
        } catch (error) {
          expect(error).toBeInstanceOf(AttestationError);
          expect((error as AttestationError).code).toBe('ERR_ATTESTATION_MALFORMED');
          return;
        }
        throw new Error('random bytes parsed as an attestation document');
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
