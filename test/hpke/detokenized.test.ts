/**
 * The processor side of detokenize-to: the answer opens only in Auth mode from the HPKE key named
 * by a verified, fresh attestation document. A parent that forges an answer (Base mode, or Auth
 * mode under its own key) or replays an old document is refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detokenizeTo, recipientFingerprint } from '../../enclave/cards/detokenize-to.js';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { openDetokenized, type DetokenizeToAnswer } from '../../shared/hpke/detokenized.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { generateHpkeKeyPair, HPKE_INFO } from '../../shared/hpke/suite.js';
import { encodeHpkeUserData } from '../../shared/hpke/user-data.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { SimPki } from '../../sim/pki/index.js';
import { codeOf } from '../helpers/code-of.js';

const T0 = Date.UTC(2026, 2, 1, 9, 30, 0);
const PCRS = { 0: 'a1'.repeat(48), 1: 'b2'.repeat(48), 2: 'c3'.repeat(48) };
const VICTIM = '5555555555554444';
const CHOSEN = '4111111111111111';

let pki: SimPki;
let enclave: HpkeRecipient;
let processor: HpkeRecipient;
let doc: Uint8Array;
let token: string;
let answer: DetokenizeToAnswer;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

beforeAll(async () => {
  pki = await SimPki.createInMemory(T0);
  enclave = await HpkeRecipient.generate();
  processor = await HpkeRecipient.generate();
  doc = await new SimulatedNsm({ pki, pcrs: PCRS, now: () => T0, silent: true }).attest({ userData: encodeHpkeUserData(enclave.publicKey) });
  const tokenizer = new Tokenizer(new Uint8Array(32).fill(5));
  token = tokenizer.tokenize(VICTIM);
  const sealed = await detokenizeTo(token, processor.publicKey, { tokenizer, allowedRecipients: new Set([recipientFingerprint(processor.publicKey)]), sender: enclave });
  answer = { recipient: 'processor', enc: b64(sealed.enc), ciphertext: b64(sealed.ciphertext), attestation: b64(doc) };
});

const verify = (at = T0) => ({ at, roots: [pki.rootPem], expectedPcrs: { 0: PCRS[0], 1: PCRS[1], 2: PCRS[2] }, maxAgeMs: 60_000 });

describe('openDetokenized', () => {
  it('opens the enclave answer after verifying the document that names its sender key', async () => {
    expect(await openDetokenized(answer, { token, recipient: processor, verify: verify() })).toEqual({ pan: VICTIM });
  });

  it('refuses a Base-mode forgery carrying a PAN of the parent’s choosing', async () => {
    const forged = await sealHpke(processor.publicKey, new TextEncoder().encode(JSON.stringify({ pan: CHOSEN })), { info: HPKE_INFO.detokenize, aad: new TextEncoder().encode(token) });
    expect(await codeOf(openDetokenized({ ...answer, enc: b64(forged.enc), ciphertext: b64(forged.ciphertext) }, { token, recipient: processor, verify: verify() }))).toBe('ERR_DECRYPT_FAILED');
  });

  it('refuses an Auth-mode forgery under another sender key, even with a document naming that key if it is not attested', async () => {
    const parentKey = await generateHpkeKeyPair();
    const forged = await sealHpke(processor.publicKey, new TextEncoder().encode(JSON.stringify({ pan: CHOSEN })), {
      info: HPKE_INFO.detokenize,
      aad: new TextEncoder().encode(token),
      senderPrivateKey: parentKey.privateKey,
    });
    const forgedAnswer = { ...answer, enc: b64(forged.enc), ciphertext: b64(forged.ciphertext) };
    expect(await codeOf(openDetokenized(forgedAnswer, { token, recipient: processor, verify: verify() }))).toBe('ERR_DECRYPT_FAILED');
    // A document for the parent's key from an enclave with other measurements: PCR mismatch.
    const rogueDoc = await new SimulatedNsm({ pki, pcrs: { ...PCRS, 0: 'ee'.repeat(48) }, now: () => T0, silent: true }).attest({ userData: encodeHpkeUserData(parentKey.publicKey) });
    expect(await codeOf(openDetokenized({ ...forgedAnswer, attestation: b64(rogueDoc) }, { token, recipient: processor, verify: verify() }))).toBe('ERR_PCR_MISMATCH');
  });

  it('refuses a replayed old document, a weak policy, and the answer for another token', async () => {
    expect(await codeOf(openDetokenized(answer, { token, recipient: processor, verify: verify(T0 + 10 * 60_000) }))).toBe('ERR_ATTESTATION_STALE');
    expect(await codeOf(openDetokenized(answer, { token, recipient: processor, verify: { ...verify(), at: 'document' } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(openDetokenized(answer, { token, recipient: processor, verify: { ...verify(), expectedPcrs: { 1: PCRS[1] } } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(openDetokenized(answer, { token, recipient: processor, verify: { ...verify(), nitroTpm: true } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(openDetokenized(answer, { token: '4000000000000002', recipient: processor, verify: verify() }))).toBe('ERR_DECRYPT_FAILED');
  });
});
