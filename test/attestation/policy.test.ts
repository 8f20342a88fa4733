// Policy on authentic documents: fail closed without PCR expectations, debug mode, PCR, nonce,
// user_data and public_key equality, freshness; and caller mistakes as TypeError/RangeError.
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTESTATION_FUTURE_SKEW_MS, verifyAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import { catchError, codeOf, EXPECTED, loadDoc, signedDoc, standardSyntheticChain, T0 } from './helpers.js';

const real12 = EXPECTED.find((e) => e.file === 'real_doc_12.cbor')!; // debug; RSA SPKI public_key, user_data "Hello World!\n", nonce "Nonce\n"
const real16 = EXPECTED.find((e) => e.file === 'real_doc_16.cbor')!; // production PCRs, indefinite map
const doc12 = loadDoc(real12.file);
const doc16 = loadDoc(real16.file);
const pcrs16 = { 0: real16.nonzero_pcrs['0']!, 1: real16.nonzero_pcrs['1']!, 2: real16.nonzero_pcrs['2']! };
const base16: VerifyOptions = { at: 'document', expectedPcrs: pcrs16, cache: false };

describe('fail closed', () => {
  it('no expectedPcrs and no anyPcrs → ERR_ATTESTATION_POLICY, before the document is even read', () => {
    expect(codeOf(() => verifyAttestation(doc16, { at: 'document' }))).toBe('ERR_ATTESTATION_POLICY');
    expect(codeOf(() => verifyAttestation(doc16, { at: 'document', expectedPcrs: {} }))).toBe('ERR_ATTESTATION_POLICY');
    expect(codeOf(() => verifyAttestation(doc16, { at: 'document', anyPcrs: false }))).toBe('ERR_ATTESTATION_POLICY');
    expect(codeOf(() => verifyAttestation(new Uint8Array([1, 2, 3]), { at: 'document' }))).toBe('ERR_ATTESTATION_POLICY');
  });

  it('debug-mode documents are refused unless allowDebug, even when their PCRs are expected', () => {
    const zeros = { 0: '00'.repeat(48), 1: '00'.repeat(48), 2: '00'.repeat(48) };
    expect(codeOf(() => verifyAttestation(doc12, { at: 'document', expectedPcrs: zeros, cache: false }))).toBe('ERR_ATTESTATION_DEBUG_MODE');
    expect(codeOf(() => verifyAttestation(doc12, { at: 'document', anyPcrs: true, cache: false }))).toBe('ERR_ATTESTATION_DEBUG_MODE');
    expect(verifyAttestation(doc12, { at: 'document', expectedPcrs: zeros, allowDebug: true, cache: false }).pcrs[0]).toBe('00'.repeat(48));
  });
});

describe('PCRs', () => {
  it('match as hex (any case) or bytes', () => {
    expect(verifyAttestation(doc16, base16).pcrs[0]).toBe(pcrs16[0]);
    expect(verifyAttestation(doc16, { ...base16, expectedPcrs: { 0: pcrs16[0].toUpperCase() } }).moduleId).toBe(real16.module_id);
    expect(verifyAttestation(doc16, { ...base16, expectedPcrs: { 4: Buffer.from(real16.nonzero_pcrs['4']!, 'hex') } }).moduleId).toBe(real16.module_id);
  });

  it('a differing PCR, or one the document lacks, → ERR_PCR_MISMATCH naming it', () => {
    const wrong = `${pcrs16[1].slice(0, -2)}00`;
    const error = catchError(() => verifyAttestation(doc16, { ...base16, expectedPcrs: { ...pcrs16, 1: wrong } }));
    expect(error.code).toBe('ERR_PCR_MISMATCH');
    expect(error.message).toBe('PCR1 differs from the expected value');
    expect(codeOf(() => verifyAttestation(doc16, { ...base16, expectedPcrs: { 20: '00'.repeat(48) } }))).toBe('ERR_PCR_MISMATCH');
  });

  it('anyPcrs skips PCR checks but still requires expected ones when given', () => {
    expect(verifyAttestation(doc16, { at: 'document', anyPcrs: true, cache: false }).moduleId).toBe(real16.module_id);
    expect(codeOf(() => verifyAttestation(doc16, { at: 'document', anyPcrs: true, expectedPcrs: { 0: '11'.repeat(48) }, cache: false }))).toBe('ERR_PCR_MISMATCH');
  });
});

describe('nonce, user_data, public_key', () => {
  const options12: VerifyOptions = { at: 'document', anyPcrs: true, allowDebug: true, cache: false };
  const text = (s: string) => new Uint8Array(Buffer.from(s));

  it('equal values pass', () => {
    const result = verifyAttestation(doc12, options12);
    expect(Buffer.from(result.userData!).toString()).toBe('Hello World!\n');
    expect(Buffer.from(result.nonce!).toString()).toBe('Nonce\n');
    expect(verifyAttestation(doc12, { ...options12, nonce: text('Nonce\n'), userData: text('Hello World!\n'), publicKey: result.publicKey! }).moduleId).toBe(real12.module_id);
  });

  it('a different value, a prefix or an empty expectation against a present field → its own code', () => {
    expect(codeOf(() => verifyAttestation(doc12, { ...options12, nonce: text('Nonce!') }))).toBe('ERR_NONCE_MISMATCH');
    expect(codeOf(() => verifyAttestation(doc12, { ...options12, nonce: text('Nonce') }))).toBe('ERR_NONCE_MISMATCH');
    expect(codeOf(() => verifyAttestation(doc12, { ...options12, nonce: new Uint8Array(0) }))).toBe('ERR_NONCE_MISMATCH');
    expect(codeOf(() => verifyAttestation(doc12, { ...options12, userData: text('Hello World?\n') }))).toBe('ERR_USER_DATA_MISMATCH');
    expect(codeOf(() => verifyAttestation(doc12, { ...options12, publicKey: new Uint8Array(294) }))).toBe('ERR_PUBLIC_KEY_MISMATCH');
  });

  it('an expectation against a null field fails unless it is empty', () => {
    expect(codeOf(() => verifyAttestation(doc16, { ...base16, nonce: text('x') }))).toBe('ERR_NONCE_MISMATCH');
    expect(codeOf(() => verifyAttestation(doc16, { ...base16, publicKey: text('x') }))).toBe('ERR_PUBLIC_KEY_MISMATCH');
    expect(verifyAttestation(doc16, { ...base16, nonce: new Uint8Array(0) }).nonce).toBeNull();
  });
});

describe('freshness (maxAgeMs)', () => {
  // Synthetic: its leaf is valid from T0 - 1 h, so times before the timestamp are reachable.
  let doc: Uint8Array;
  let base: VerifyOptions;
  beforeAll(async () => {
    const chain = await standardSyntheticChain();
    doc = signedDoc(chain);
    base = { at: T0, roots: [chain[0]!.pem], anyPcrs: true, cache: false };
  });

  it('within [at - maxAgeMs, at + skew] passes; older or further in the future → ERR_ATTESTATION_STALE', () => {
    expect(verifyAttestation(doc, { ...base, at: T0 + 60_000, maxAgeMs: 60_000 }).timestamp).toBe(T0);
    expect(codeOf(() => verifyAttestation(doc, { ...base, at: T0 + 60_001, maxAgeMs: 60_000 }))).toBe('ERR_ATTESTATION_STALE');
    expect(verifyAttestation(doc, { ...base, at: T0 - ATTESTATION_FUTURE_SKEW_MS, maxAgeMs: 0 }).timestamp).toBe(T0);
    expect(codeOf(() => verifyAttestation(doc, { ...base, at: T0 - ATTESTATION_FUTURE_SKEW_MS - 1, maxAgeMs: 1000 }))).toBe('ERR_ATTESTATION_STALE');
    expect(verifyAttestation(doc, { ...base, at: T0 + 3_600_000 }).timestamp).toBe(T0); // no maxAgeMs: no freshness rule
  });

  it('is checked after the signature: a stale forged document reports the forgery', () => {
    const forged = new Uint8Array(doc);
    forged[forged.length - 1]! ^= 1;
    expect(codeOf(() => verifyAttestation(forged, { ...base, at: T0 + 120_000, maxAgeMs: 1 }))).toBe('ERR_ATTESTATION_SIGNATURE');
  });
});

describe('caller mistakes are TypeError/RangeError, not verdicts', () => {
  it.each([
    ['at missing', { at: undefined as unknown as number, anyPcrs: true }],
    ['at NaN', { at: Number.NaN, anyPcrs: true }],
    ['at an invalid Date', { at: new Date('x'), anyPcrs: true }],
    ['PCR index out of range', { at: 0, expectedPcrs: { 32: '00'.repeat(48) } }],
    ['PCR value not hex', { at: 0, expectedPcrs: { 0: 'zz'.repeat(48) } }],
    ['PCR value of the wrong length', { at: 0, expectedPcrs: { 0: '00'.repeat(32) } }],
    ['nonce not bytes', { at: 0, anyPcrs: true, nonce: 'abc' as unknown as Uint8Array }],
    ['maxAgeMs negative', { at: 0, anyPcrs: true, maxAgeMs: -1 }],
    ['roots empty', { at: 0, anyPcrs: true, roots: [] }],
    ['roots not a certificate', { at: 0, anyPcrs: true, roots: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }],
    ['roots text without PEM', { at: 0, anyPcrs: true, roots: ['hello'] }],
  ] as [string, VerifyOptions][])('%s', (_name, options) => {
    let thrown: unknown;
    try {
      verifyAttestation(doc16, options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown instanceof TypeError || thrown instanceof RangeError).toBe(true);
  });

  it('a document that is not a Uint8Array', () => {
    expect(() => verifyAttestation('doc' as unknown as Uint8Array, { at: 0, anyPcrs: true })).toThrow(TypeError);
  });
});
