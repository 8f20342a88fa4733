/**
 * The production verifier (shared/attestation) on simulated documents: it accepts them only when
 * the simulated root is given explicitly, and its policy checks bite on simulated PCRs exactly as
 * on real ones (docs/architecture.md "Simulator fidelity").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import type { AttestationErrorCode } from '../../shared/errors.js';
import { pcrOfString } from '../../shared/pcr.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { SimPki } from '../../sim/pki/index.js';

const T0 = Date.UTC(2026, 5, 10, 8, 0, 0);
const MODULE_ID = 'i-0fedcba9876543210-enc0123456789abcdef';
const bundle = new TextEncoder().encode('export const app = "v1";\n');
const pcrs = measureEnclave({ appBundle: bundle, roleArn: 'arn:aws:iam::111122223333:role/enclave', instanceId: 'i-0fedcba9876543210' });
const expectedPcrs = { 0: pcrs[0] as string, 1: pcrs[1] as string, 2: pcrs[2] as string };

let pki: SimPki;
let otherPki: SimPki;
beforeAll(async () => {
  [pki, otherPki] = await Promise.all([SimPki.createInMemory(T0 - 60_000), SimPki.createInMemory(T0 - 60_000)]);
});

function nsmWith(bootPcrs: Record<number, string>, now: () => number = () => T0, from: SimPki = pki): SimulatedNsm {
  return new SimulatedNsm({ pki: from, pcrs: bootPcrs, moduleId: MODULE_ID, now, silent: true });
}

function failureCode(doc: Uint8Array, options: VerifyOptions): AttestationErrorCode | undefined {
  try {
    verifyAttestation(doc, options);
    return undefined;
  } catch (error) {
    return (error as { code?: AttestationErrorCode }).code;
  }
}

describe('foundation verifier on simulated documents', () => {
  it('accepts a simulated document with the simulated root and the measured PCRs', async () => {
    const nonce = new Uint8Array([1, 2, 3, 4]);
    const publicKey = new Uint8Array(300).fill(7);
    const doc = await nsmWith(pcrs).attest({ nonce, publicKey, userData: new Uint8Array([9]) });
    const verified = verifyAttestation(doc, { at: T0 + 1000, roots: [pki.rootPem], expectedPcrs, nonce, publicKey, maxAgeMs: 300_000 });
    expect(verified.moduleId).toBe(MODULE_ID);
    expect(verified.timestamp).toBe(T0);
    expect(verified.pcrs[2]).toBe(pcrs[2]);
    expect(verified.pcrs[3]).toBe(pcrOfString('arn:aws:iam::111122223333:role/enclave'));
    expect(verified.pcrs[4]).toBe(pcrOfString('i-0fedcba9876543210'));
    expect(Object.keys(verified.pcrs)).toHaveLength(16);
    expect(verified.certificates).toHaveLength(5);
    expect(verified.certificates[4]?.notAfter).toBe(pki.root.notAfter);
    // DER roots work as well as PEM.
    expect(verifyAttestation(doc, { at: 'document', roots: [pki.rootDer], expectedPcrs }).moduleId).toBe(MODULE_ID);
  });

  it('accepts both payload map forms (indefinite, as current NSMs; definite, as older ones)', async () => {
    const legacy = await new SimulatedNsm({ pki, pcrs, moduleId: MODULE_ID, now: () => T0, silent: true, payloadMap: 'definite' }).attest({});
    expect(verifyAttestation(legacy, { at: T0, roots: [pki.rootPem], expectedPcrs }).moduleId).toBe(MODULE_ID);
  });

  it('rejects it with the default (AWS) root and with another simulated root: ERR_ATTESTATION_CHAIN', async () => {
    const doc = await nsmWith(pcrs).attest({});
    expect(failureCode(doc, { at: T0, expectedPcrs })).toBe('ERR_ATTESTATION_CHAIN');
    expect(failureCode(doc, { at: T0, roots: [otherPki.rootPem], expectedPcrs })).toBe('ERR_ATTESTATION_CHAIN');
    const foreign = await nsmWith(pcrs, () => T0, otherPki).attest({});
    expect(failureCode(foreign, { at: T0, roots: [pki.rootPem], expectedPcrs })).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('rejects another bundle measurement (ERR_PCR_MISMATCH) and a debug-mode document unless allowed', async () => {
    const changed = measureEnclave({ appBundle: new TextEncoder().encode('export const app = "v2";\n') });
    const other = await nsmWith({ 0: changed[0] as string, 1: changed[1] as string, 2: changed[2] as string }).attest({});
    expect(failureCode(other, { at: T0, roots: [pki.rootPem], expectedPcrs })).toBe('ERR_PCR_MISMATCH');
    // PCR1 (kernel) did not change with the bundle; PCR0 and PCR2 did.
    expect(verifyAttestation(other, { at: T0, roots: [pki.rootPem], expectedPcrs: { 1: expectedPcrs[1] } }).pcrs[1]).toBe(expectedPcrs[1]);

    const debugPcrs = measureEnclave({ appBundle: bundle, debug: true });
    const debug = await nsmWith({ 0: debugPcrs[0] as string, 1: debugPcrs[1] as string, 2: debugPcrs[2] as string }).attest({});
    expect(failureCode(debug, { at: T0, roots: [pki.rootPem], anyPcrs: true })).toBe('ERR_ATTESTATION_DEBUG_MODE');
    expect(verifyAttestation(debug, { at: T0, roots: [pki.rootPem], anyPcrs: true, allowDebug: true }).pcrs[0]).toMatch(/^0+$/);
  });

  it('checks the leaf window: a document verifies for at least 30 minutes, not after its leaf expires', async () => {
    const doc = await nsmWith(pcrs).attest({});
    const options = { roots: [pki.rootPem], expectedPcrs };
    expect(failureCode(doc, { ...options, at: T0 + 30 * 60_000 })).toBeUndefined();
    expect(failureCode(doc, { ...options, at: T0 + 3 * 3_600_000 + 60_000 })).toBe('ERR_ATTESTATION_EXPIRED');
    expect(failureCode(doc, { ...options, at: T0, maxAgeMs: 1000, nonce: new Uint8Array([1]) })).toBe('ERR_NONCE_MISMATCH');
  });

  it('keeps verifying across leaf re-issue on one boot (new leaf, same root)', async () => {
    let now = T0;
    const nsm = nsmWith(pcrs, () => now);
    const first = await nsm.attest({});
    now = T0 + 2 * 3_600_000 + 45 * 60_000;
    const second = await nsm.attest({});
    const a = verifyAttestation(first, { at: 'document', roots: [pki.rootPem], expectedPcrs, cache: false });
    const b = verifyAttestation(second, { at: 'document', roots: [pki.rootPem], expectedPcrs, cache: false });
    expect(a.certificates[0]?.sha256).not.toBe(b.certificates[0]?.sha256);
    expect(a.certificates[4]?.sha256).toBe(b.certificates[4]?.sha256);
  });
});
