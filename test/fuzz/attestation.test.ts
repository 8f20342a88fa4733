/**
 * Fuzzing attestation parsing where the signature cannot help: documents correctly signed by a
 * synthetic Nitro-shaped chain (test/attestation/helpers.ts) whose payload fields take random
 * values, valid or not, and whose keys are dropped, duplicated, reordered or joined by strangers.
 * test/attestation/{property,mutations}.test.ts flip bytes of real documents, which the signature
 * or the chain already refuses; here only the structure rules (shared/attestation/document.ts,
 * docs/formats.md 1.3) stand between a signed document and a verdict.
 *
 * Property: verifyAttestation (and parseAttestation) accepts exactly the documents the rules
 * allow, and then returns exactly the encoded values; everything else is AttestationError
 * ERR_ATTESTATION_MALFORMED, never another exception.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainCache, parseAttestation, verifyAttestation } from '../../shared/attestation/index.js';
import { AttestationError } from '../../shared/errors.js';
import { T0, signedDoc, standardSyntheticChain, type PayloadEntries, type SyntheticCert } from '../attestation/helpers.js';
import { fuzzParams } from './runs.js';

/** A value for a field, and whether the rules accept it there. */
interface Candidate {
  value: unknown;
  valid: boolean;
}
const ok = (value: unknown): Candidate => ({ value, valid: true });
const bad = (value: unknown): Candidate => ({ value, valid: false });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

function pcrMap(entries: [number, Uint8Array][]): Map<number, Uint8Array> {
  return new Map(entries);
}
const pcrValue = bytes(48, 48);
const validPcrs = fc
  .uniqueArray(fc.integer({ min: 0, max: 31 }), { minLength: 1, maxLength: 32 })
  .chain((indices) => fc.tuple(...indices.sort((a, b) => a - b).map((i) => pcrValue.map((v): [number, Uint8Array] => [i, v]))))
  .map((entries) => ok(pcrMap(entries)));
const invalidPcrs = fc.oneof(
  fc.constant(bad(new Map())),
  fc.tuple(fc.integer({ min: 0, max: 31 }), fc.constantFrom(0, 1, 32, 47, 49, 64)).chain(([i, n]) => bytes(n, n).map((v) => bad(pcrMap([[i, v]])))),
  pcrValue.map((v) => bad(pcrMap([[32, v]]))),
  fc.tuple(pcrValue, pcrValue).map(([a, b]) => bad(pcrMap([[5, a], [2, b]]))), // out of order
  pcrValue.map((v) => bad(new Map<unknown, unknown>([['0', v]]))),
  pcrValue.map((v) => bad(new Map<unknown, unknown>([[-1, v]]))),
  fc.constant(bad([new Uint8Array(48)])),
);

// Valid values weigh most (each field ~85%), so that whole valid documents are common too.
const optionalField = fc.oneof(
  { weight: 3, arbitrary: fc.constant(ok(null)) },
  { weight: 8, arbitrary: bytes(0, 1024).map(ok) },
  bytes(1025, 1100).map(bad),
  fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant([])).map(bad),
);

const FIELDS: Record<string, fc.Arbitrary<Candidate>> = {
  module_id: fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 48 }).map(ok) }, fc.constantFrom(bad(''), bad(5), bad(new Uint8Array(4)), bad(null))),
  digest: fc.oneof({ weight: 6, arbitrary: fc.constant(ok('SHA384')) }, fc.constantFrom(bad('SHA256'), bad('sha384'), bad('SHA384 '), bad(new TextEncoder().encode('SHA384')))),
  timestamp: fc.oneof(
    // Minimal CBOR as serde_cbor writes it: cbor-x turns numbers above 2^32 - 1 into floats, so
    // those go in as BigInt, which it writes as a uint64 (shared/cbor.ts).
    { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }).map((t) => ok(t < 2n ** 32n ? Number(t) : t)) },
    fc.constantFrom(bad(0n), bad(-5), bad(1.5), bad('1'), bad(2n ** 60n), bad(null)),
  ),
  pcrs: fc.oneof({ weight: 6, arbitrary: validPcrs }, invalidPcrs),
  // The leaf and the chain stay the real ones (else the chain check, not the parser, refuses).
  certificate: fc.oneof({ weight: 12, arbitrary: fc.constant(ok('leaf')) }, fc.constantFrom(bad(new Uint8Array(0)), bad('text')), bytes(1025, 1030).map(bad)),
  cabundle: fc.oneof({ weight: 18, arbitrary: fc.constant(ok('chain')) }, fc.constantFrom(bad([]), bad('chain-x9'), bad([new Uint8Array(0)]), bad(new Uint8Array(10))), bytes(1025, 1030).map((b) => bad([b]))),
  public_key: optionalField,
  user_data: optionalField,
  nonce: optionalField,
};
const ORDER = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'];

type KeyChange = { kind: 'none' } | { kind: 'drop' | 'duplicate'; at: number } | { kind: 'swap'; at: number } | { kind: 'extra'; at: number; key: string };
const keyChange: fc.Arbitrary<KeyChange> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<KeyChange>({ kind: 'none' }) },
  fc.record({ kind: fc.constantFrom<'drop' | 'duplicate' | 'swap'>('drop', 'duplicate', 'swap'), at: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ kind: fc.constant<'extra'>('extra'), at: fc.integer({ min: 0, max: 9 }), key: fc.constantFrom('extra', 'Nonce', 'module_id ', '') }),
);

describe('signed documents with random payload structure', () => {
  let chain: SyntheticCert[];
  beforeAll(async () => {
    chain = await standardSyntheticChain();
  });

  it('are accepted exactly when the rules allow, with the encoded values; otherwise MALFORMED', () => {
    const cache = new ChainCache();
    let accepted = 0;
    fc.assert(
      fc.property(fc.record(FIELDS), keyChange, fc.boolean(), (fields, change, indefinite) => {
        const resolve = (name: string, value: unknown): unknown => {
          if (name === 'certificate' && value === 'leaf') return chain[chain.length - 1]!.der;
          if (name === 'cabundle' && value === 'chain') return chain.slice(0, -1).map((c) => c.der);
          if (name === 'cabundle' && value === 'chain-x9') return Array.from({ length: 9 }, (_, i) => chain[i % 4]!.der);
          return value;
        };
        let entries: PayloadEntries = ORDER.map((name) => [name, resolve(name, fields[name]!.value)]);
        if (change.kind === 'drop') entries.splice(change.at, 1);
        else if (change.kind === 'duplicate') entries.splice(change.at, 0, entries[change.at]!);
        else if (change.kind === 'swap') entries = entries.map((e, i) => (i === change.at ? entries[(change.at + 1) % 9]! : i === (change.at + 1) % 9 ? entries[change.at]! : e));
        else if (change.kind === 'extra') entries.splice(change.at, 0, [change.key, 1]);
        const valid = change.kind === 'none' && ORDER.every((name) => fields[name]!.valid);

        const doc = signedDoc(chain, { edit: () => entries, indefinite });
        let result: ReturnType<typeof verifyAttestation> | undefined;
        let thrown: unknown;
        try {
          result = verifyAttestation(doc, { at: T0, roots: [chain[0]!.pem], anyPcrs: true, allowDebug: true, cache });
        } catch (error) {
          thrown = error;
        }
        if (!valid) {
          expect(thrown, 'a document breaking the structure rules was accepted').toBeInstanceOf(AttestationError);
          expect((thrown as AttestationError).code).toBe('ERR_ATTESTATION_MALFORMED');
          expect(() => parseAttestation(doc)).toThrowError(expect.objectContaining({ code: 'ERR_ATTESTATION_MALFORMED' }));
          return;
        }
        expect(thrown).toBeUndefined();
        accepted += 1;
        const hex = (b: unknown): string => Buffer.from(b as Uint8Array).toString('hex');
        const orNull = (v: unknown): Uint8Array | null => (v === null || (v as Uint8Array).length === 0 ? null : (v as Uint8Array));
        expect(result!.moduleId).toBe(fields['module_id']!.value);
        expect(result!.timestamp).toBe(Number(fields['timestamp']!.value));
        expect(result!.pcrs).toEqual(Object.fromEntries([...(fields['pcrs']!.value as Map<number, Uint8Array>)].map(([i, v]) => [i, hex(v)])));
        expect(result!.publicKey).toEqual(orNull(fields['public_key']!.value));
        expect(result!.userData).toEqual(orNull(fields['user_data']!.value));
        expect(result!.nonce).toEqual(orNull(fields['nonce']!.value));
        expect(result!.certificates).toHaveLength(chain.length);
      }),
      fuzzParams(),
    );
    // Valid documents are a real share of the sample, not a corner never reached.
    expect(accepted).toBeGreaterThan(fuzzParams().numRuns / 20);
  });
});
