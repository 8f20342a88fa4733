/**
 * The client helper against genuine signed documents from engineer C's SimulatedNsm (sim PKI root
 * passed explicitly as the trust anchor, as a dev client would) and engineer A's verifier.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openSealedInput } from '../../enclave/hpke-open.js';
import { AttestationError } from '../../shared/errors.js';
import { sealCardForEnclave, sealForEnclave } from '../../shared/hpke/client.js';
import { decodeSealedEnvelope } from '../../shared/hpke/envelope.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { generateHpkeKeyPair, HPKE_INFO, sealedInputInfo } from '../../shared/hpke/suite.js';
import { encodeHpkeUserData } from '../../shared/hpke/user-data.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { SimPki } from '../../sim/pki/index.js';
import { codeOf } from '../helpers/code-of.js';

const T0 = Date.UTC(2026, 2, 1, 9, 30, 0);
const PCRS = { 0: 'a1'.repeat(48), 1: 'b2'.repeat(48), 2: 'c3'.repeat(48) };
const CARD = { pan: '4111111111111111', exp: '12/30', cvc: '123' };

let pki: SimPki;
let recipient: HpkeRecipient;
let doc: Uint8Array;

beforeAll(async () => {
  pki = await SimPki.createInMemory(T0);
  recipient = await HpkeRecipient.generate();
  const nsm = new SimulatedNsm({ pki, pcrs: PCRS, now: () => T0, silent: true });
  doc = await nsm.attest({ userData: encodeHpkeUserData(recipient.publicKey) });
});

const verify = () => ({ at: T0, roots: [pki.rootPem], expectedPcrs: { 0: PCRS[0], 1: PCRS[1], 2: PCRS[2] }, maxAgeMs: 60_000 });

describe('sealCardForEnclave: verify the attestation, then seal to the key in user_data', () => {
  it('Base mode: the enclave opens the card', async () => {
    const envelope = await sealCardForEnclave(CARD, { attestationDocument: doc, verify: verify() });
    expect(Object.keys(envelope).sort()).toEqual(['ciphertext', 'enc']);
    const opened = await recipient.open(decodeSealedEnvelope(envelope), { info: HPKE_INFO.card });
    expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual(CARD);
  });

  it('Auth mode: the envelope names the sender, and the enclave policy authenticates it', async () => {
    const producer = await generateHpkeKeyPair();
    const envelope = await sealCardForEnclave(CARD, { attestationDocument: doc, verify: verify(), senderKey: producer.privateKey });
    expect(Buffer.from(envelope.sender!, 'base64').equals(Buffer.from(producer.publicKey))).toBe(true);
    const opened = await openSealedInput(recipient, decodeSealedEnvelope(envelope), {
      info: HPKE_INFO.card,
      policy: { allowedSenders: [producer.publicKey], publicSubmission: false },
    });
    expect(Buffer.from(opened.sender!).equals(Buffer.from(producer.publicKey))).toBe(true);
  });

  it('seals other purposes under their own info string', async () => {
    const envelope = await sealForEnclave(new TextEncoder().encode('mail a@b.io'), { purpose: 'pii-text' }, { attestationDocument: doc, verify: verify() });
    const sealed = decodeSealedEnvelope(envelope);
    expect(await codeOf(recipient.open(sealed, { info: HPKE_INFO.card }))).toBe('ERR_DECRYPT_FAILED');
    expect(new TextDecoder().decode((await recipient.open(sealed, { info: HPKE_INFO.piiText })).plaintext)).toBe('mail a@b.io');
  });

  it('binds a blind-index value to its field: it opens under its own field only', async () => {
    const envelope = await sealForEnclave(new TextEncoder().encode('536-22-1184'), { purpose: 'pii-value', field: 'ssn' }, { attestationDocument: doc, verify: verify() });
    const sealed = decodeSealedEnvelope(envelope);
    expect(await codeOf(recipient.open(sealed, { info: sealedInputInfo('pii-value', 'email') }))).toBe('ERR_DECRYPT_FAILED');
    expect(await codeOf(recipient.open(sealed, { info: HPKE_INFO.piiText }))).toBe('ERR_DECRYPT_FAILED');
    expect(new TextDecoder().decode((await recipient.open(sealed, { info: sealedInputInfo('pii-value', 'ssn') })).plaintext)).toBe('536-22-1184');
    // A pii-value without a field is a programming error, not a sealed message.
    await expect(sealForEnclave(new Uint8Array(1), { purpose: 'pii-value' }, { attestationDocument: doc, verify: verify() })).rejects.toThrow(RangeError);
  });

  it('refuses weak verification policies: no PCR0, at: document, allowDebug', async () => {
    // PCR16 alone is extended by the enclave itself; PCR1 is the same for every enclave of a nitro-cli version.
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), expectedPcrs: { 1: PCRS[1] } } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), expectedPcrs: { 16: PCRS[1] } } }))).toBe('ERR_ATTESTATION_POLICY');
    // 'document' time: a replayed old document would be good forever.
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), at: 'document' } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), allowDebug: true } }))).toBe('ERR_ATTESTATION_POLICY');
    // The same options with PCR0 and a real time pass (so the refusals above are about the policy).
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), expectedPcrs: { 0: PCRS[0] } } }))).toBe('ok');
  });

  it('refuses a NitroTPM document carrying a host-chosen key, even when asked to accept NitroTPM', async () => {
    // A compromised host that is a NitroTPM instance gets a document signed by the same root, with
    // the user_data (an HPKE key of its own) and TPM registers it names: PCR0 here is the enclave's.
    const attacker = await HpkeRecipient.generate();
    const host = new SimulatedNsm({ pki, pcrs: PCRS, now: () => T0, silent: true });
    const tpmDoc = await host.attestNitroTpm({ userData: encodeHpkeUserData(attacker.publicKey) }, { 0: PCRS[0] });
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: tpmDoc, verify: { ...verify(), expectedPcrs: { 0: PCRS[0] }, nitroTpm: true } }))).toBe('ERR_ATTESTATION_POLICY');
    // Without the option the verifier refuses the kind itself; the enclave document still passes.
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: tpmDoc, verify: { ...verify(), expectedPcrs: { 0: PCRS[0] } } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), nitroTpm: true } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: verify() }))).toBe('ok');
  });

  it('refuses without expected PCRs, or with anyPcrs, before looking at the document', async () => {
    const { expectedPcrs: _omit, ...noPcrs } = verify();
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: noPcrs }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...noPcrs, anyPcrs: true } }))).toBe('ERR_ATTESTATION_POLICY');
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), anyPcrs: true } }))).toBe('ERR_ATTESTATION_POLICY');
  });

  it('refuses a document from other code (PCR mismatch) or not chaining to the given roots', async () => {
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: { ...verify(), expectedPcrs: { 0: 'ff'.repeat(48) } } }))).toBe('ERR_PCR_MISMATCH');
    const { roots: _roots, ...awsRootOnly } = verify();
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: doc, verify: awsRootOnly }))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('a parent that swaps the key in user_data breaks the signature', async () => {
    const at = Buffer.from(doc).indexOf(Buffer.from(recipient.publicKey));
    expect(at).toBeGreaterThan(0);
    const swapped = doc.slice();
    swapped[at + 5]! ^= 0xff;
    let caught: unknown;
    try {
      await sealCardForEnclave(CARD, { attestationDocument: swapped, verify: verify() });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AttestationError);
    expect((caught as AttestationError).code).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('refuses a verified document that carries no enclavekit HPKE key', async () => {
    const nsm = new SimulatedNsm({ pki, pcrs: PCRS, now: () => T0, silent: true });
    const bare = await nsm.attest({});
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: bare, verify: verify() }))).toBe('ERR_ATTESTATION_MALFORMED');
    const other = await nsm.attest({ userData: new TextEncoder().encode('{"hpke":"nope"}') });
    expect(await codeOf(sealCardForEnclave(CARD, { attestationDocument: other, verify: verify() }))).toBe('ERR_ATTESTATION_MALFORMED');
  });
});

describe('sealing requires a fresh document', () => {
  it('refuses verification options with neither maxAgeMs nor a nonce', async () => {
    const { maxAgeMs: _unused, ...stale } = verify();
    await expect(sealCardForEnclave(CARD, { attestationDocument: doc, verify: stale })).rejects.toMatchObject({
      code: 'ERR_ATTESTATION_POLICY',
    });
  });
});
