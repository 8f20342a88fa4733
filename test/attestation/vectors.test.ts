// Every real Nitro document in test/vectors/attestation verifies at its own timestamp, with
// the PCRs, module id and leaf validity recorded in expected.json, and fails a day either side.
import { describe, expect, it } from 'vitest';
import {
  AWS_NITRO_ROOT_G1_PEM,
  AWS_NITRO_ROOT_G1_SHA256,
  ChainCache,
  parseAttestation,
  verifyAttestation,
} from '../../shared/attestation/index.js';
import { catchError, codeOf, DAY_MS, EXPECTED, loadDoc, ROOT_PEM, vectorFiles } from './helpers.js';

const ZERO_PCR = '00'.repeat(48);

describe('real attestation documents', () => {
  it('expected.json covers every shipped document', () => {
    expect(EXPECTED.map((e) => e.file).sort()).toEqual(vectorFiles());
    expect(EXPECTED.length).toBeGreaterThanOrEqual(13);
  });

  it('the built-in root is the shipped Root-G1, pinned by its published fingerprint', () => {
    expect(AWS_NITRO_ROOT_G1_PEM.trim()).toBe(ROOT_PEM.trim());
    expect(AWS_NITRO_ROOT_G1_SHA256).toBe('641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b');
  });

  for (const vector of EXPECTED) {
    describe(vector.file, () => {
      const doc = loadDoc(vector.file);
      const pcrs = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [i, vector.nonzero_pcrs[String(i)] ?? ZERO_PCR]));

      it('verifies at its own timestamp with exactly the expected PCRs', () => {
        const result = verifyAttestation(doc, { at: vector.timestamp_ms, expectedPcrs: pcrs, allowDebug: vector.debug_mode, cache: false });
        expect(result.moduleId).toBe(vector.module_id);
        expect(result.timestamp).toBe(vector.timestamp_ms);
        expect(result.digest).toBe('SHA384');
        expect(result.pcrs).toEqual(pcrs);
        expect(result.certificates).toHaveLength(vector.cabundle_len + 1);
        const leaf = result.certificates[0]!;
        expect(leaf.notBefore).toBe(Date.parse(vector.leaf_not_before));
        expect(leaf.notAfter).toBe(Date.parse(vector.leaf_not_after));
        expect(leaf.subject).toContain(vector.module_id);
        expect(result.certificates.at(-1)!.sha256).toBe(AWS_NITRO_ROOT_G1_SHA256);
        if (vector.public_key === 'null' || vector.public_key === 'empty') expect(result.publicKey).toBeNull();
        else expect(result.publicKey!.length).toBeGreaterThan(0);
      });

      it("verifies with at: 'document', a Date, the default cache and the root given as PEM", () => {
        const options = { expectedPcrs: pcrs, allowDebug: vector.debug_mode, roots: [ROOT_PEM] };
        expect(verifyAttestation(doc, { ...options, at: 'document' }).timestamp).toBe(vector.timestamp_ms);
        expect(verifyAttestation(doc, { ...options, at: new Date(vector.timestamp_ms) }).moduleId).toBe(vector.module_id);
      });

      it('is not yet valid one day before and expired one day after, even with a warm cache', () => {
        const cache = new ChainCache();
        const options = { anyPcrs: true, allowDebug: true, cache };
        verifyAttestation(doc, { ...options, at: vector.timestamp_ms });
        expect(cache.size).toBe(vector.cabundle_len);
        const before = codeOf(() => verifyAttestation(doc, { ...options, at: vector.timestamp_ms - DAY_MS }));
        const after = codeOf(() => verifyAttestation(doc, { ...options, at: vector.timestamp_ms + DAY_MS }));
        expect(before).toBe('ERR_ATTESTATION_NOT_YET_VALID');
        expect(after).toBe('ERR_ATTESTATION_EXPIRED');
      });

      it('names the failing certificate and the time when the leaf has expired', () => {
        const at = Date.parse(vector.leaf_not_after) + 1000;
        const error = catchError(() => verifyAttestation(doc, { at, anyPcrs: true, allowDebug: true, cache: false }));
        expect(error.code).toBe('ERR_ATTESTATION_EXPIRED');
        expect(error.message).toContain('leaf certificate expired at');
        expect(error.message).toContain(new Date(Date.parse(vector.leaf_not_after)).toISOString());
      });

      it('is rejected as debug mode exactly when PCR0-2 are zero, unless allowDebug', () => {
        const run = (): unknown => verifyAttestation(doc, { at: 'document', anyPcrs: true, cache: false });
        if (vector.debug_mode) expect(codeOf(run)).toBe('ERR_ATTESTATION_DEBUG_MODE');
        else expect(run()).toBeDefined();
      });

      it('parses (structure only) to the same fields, with the payload map form recorded', () => {
        const parsed = parseAttestation(doc);
        expect(parsed.moduleId).toBe(vector.module_id);
        expect(parsed.cabundle).toHaveLength(vector.cabundle_len);
        expect(parsed.cose.tagged).toBe(false);
        expect(parsed.cose.payload[0]).toBe(vector.payload_map === 'indefinite-length' ? 0xbf : 0xa9);
      });
    });
  }

  it('an empty public_key (real_doc_1) reads as null', () => {
    expect(EXPECTED.find((e) => e.file === 'real_doc_1.cbor')!.public_key).toBe('empty');
    expect(parseAttestation(loadDoc('real_doc_1.cbor')).publicKey).toBeNull();
  });

  it('real_doc_11 fails at 2050-01-01 (anjuna Test_SignedAttestDoc_expiredDocument)', () => {
    const at = Date.UTC(2050, 0, 1);
    expect(codeOf(() => verifyAttestation(loadDoc('real_doc_11.cbor'), { at, anyPcrs: true, cache: false }))).toBe('ERR_ATTESTATION_EXPIRED');
  });
});
