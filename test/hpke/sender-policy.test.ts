import { describe, expect, it } from 'vitest';
import { registerBuiltinHandlers } from '../../enclave/app/handlers.js';
import { HandlerRegistry } from '../../enclave/app/registry.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { KeyRing } from '../../enclave/key-ring.js';
import type { EnclaveServices } from '../../enclave/runtime.js';
import { luhnValid } from '../../enclave/cards/luhn.js';
import { DEFAULT_CARD_RATE_LIMITS } from '../../enclave/cards/rate-limit.js';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { MAX_ALLOWED_SENDERS, TRIAL_OPEN_MAX_SENDERS, openSealedInput, type SenderPolicy } from '../../enclave/hpke-open.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { generateHpkeKeyPair, HPKE_INFO, type HpkeKeyPair } from '../../shared/hpke/suite.js';
import { codeOf } from '../helpers/code-of.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const cardJson = (pan: string) => text(JSON.stringify({ pan, exp: '12/30' }));

describe('enclave sender policy for HPKE inputs', () => {
  let recipient: HpkeRecipient;
  let producer: HpkeKeyPair;
  let other: HpkeKeyPair;
  const setup = async () => {
    recipient ??= await HpkeRecipient.generate();
    producer ??= await generateHpkeKeyPair();
    other ??= await generateHpkeKeyPair();
  };
  const policy = (publicSubmission: boolean): SenderPolicy => ({ allowedSenders: [other.publicKey, producer.publicKey], publicSubmission });

  it('with a long allowlist, an Auth envelope must name its sender (no trial opening)', async () => {
    await setup();
    const fillers = await Promise.all(Array.from({ length: TRIAL_OPEN_MAX_SENDERS }, () => generateHpkeKeyPair()));
    const long: SenderPolicy = { allowedSenders: [...fillers.map((k) => k.publicKey), producer.publicKey], publicSubmission: false };
    const sealed = await sealHpke(recipient.publicKey, text('y'), { info: HPKE_INFO.card, senderPrivateKey: producer.privateKey });
    await expect(openSealedInput(recipient, sealed, { info: HPKE_INFO.card, policy: long })).rejects.toMatchObject({ code: 'ERR_DECRYPT_FAILED' });
    const opened = await openSealedInput(recipient, { ...sealed, sender: producer.publicKey }, { info: HPKE_INFO.card, policy: long });
    expect(new TextDecoder().decode(opened.plaintext)).toBe('y');
  });

  it('accepts an allowlisted Auth-mode sender, with or without `sender` in the envelope', async () => {
    await setup();
    const sealed = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card, senderPrivateKey: producer.privateKey });
    for (const envelope of [sealed, { ...sealed, sender: producer.publicKey }]) {
      const opened = await openSealedInput(recipient, envelope, { info: HPKE_INFO.card, policy: policy(false) });
      expect(Buffer.from(opened.sender!).equals(Buffer.from(producer.publicKey))).toBe(true);
      expect(new TextDecoder().decode(opened.plaintext)).toBe('x');
    }
  });

  it('refuses a sender key outside the allowlist before decrypting', async () => {
    await setup();
    const stranger = await generateHpkeKeyPair();
    const sealed = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card, senderPrivateKey: stranger.privateKey });
    expect(await codeOf(openSealedInput(recipient, { ...sealed, sender: stranger.publicKey }, { info: HPKE_INFO.card, policy: policy(false) }))).toBe('ERR_SENDER_NOT_ALLOWED');
    // Without `sender`: no allowlisted key opens it, nor does Base mode.
    expect(await codeOf(openSealedInput(recipient, sealed, { info: HPKE_INFO.card, policy: policy(true) }))).toBe('ERR_DECRYPT_FAILED');
  });

  it('claiming an allowlisted sender does not help a Base-mode or foreign-key message', async () => {
    await setup();
    const stranger = await generateHpkeKeyPair();
    const base = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card });
    const foreign = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card, senderPrivateKey: stranger.privateKey });
    for (const sealed of [base, foreign]) {
      expect(await codeOf(openSealedInput(recipient, { ...sealed, sender: producer.publicKey }, { info: HPKE_INFO.card, policy: policy(true) }))).toBe('ERR_DECRYPT_FAILED');
    }
  });

  it('Base mode: refused unless public submission is on, then marked anonymous', async () => {
    await setup();
    const base = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card });
    expect(await codeOf(openSealedInput(recipient, base, { info: HPKE_INFO.card, policy: policy(false) }))).toBe('ERR_SENDER_NOT_ALLOWED');
    const opened = await openSealedInput(recipient, base, { info: HPKE_INFO.card, policy: policy(true) });
    expect(opened.sender).toBeNull();
  });

  it('checks the policy itself', async () => {
    await setup();
    const sealed = await sealHpke(recipient.publicKey, text('x'), { info: HPKE_INFO.card });
    const tooMany = { allowedSenders: Array.from({ length: MAX_ALLOWED_SENDERS + 1 }, () => producer.publicKey), publicSubmission: false };
    await expect(openSealedInput(recipient, sealed, { info: HPKE_INFO.card, policy: tooMany })).rejects.toThrow(RangeError);
    await expect(openSealedInput(recipient, sealed, { info: HPKE_INFO.card, policy: { allowedSenders: [new Uint8Array(5)], publicSubmission: false } })).rejects.toThrow(RangeError);
  });
});

describe('the enumeration attack on tokens fails (unit level: the built-in handlers, no running stack)', () => {
  // The parent knows the enclave's HPKE public key (it is public) and wants the PAN behind a token
  // for BIN 411111 / last 4 1111: it seals candidate PANs and compares the tokens it gets back.
  /** Luhn-valid PANs 411111 ‖ middle ‖ 1111: the ~10^5 candidates behind one token. */
  const candidates = (count: number): string[] => {
    const out: string[] = [];
    for (let m = 0; out.length < count; m++) {
      const pan = `411111${String(m).padStart(6, '0')}1111`;
      if (luhnValid(pan)) out.push(pan);
    }
    return out;
  };
  const TOKEN_KEY = new Uint8Array(32).fill(9);
  const ctx = { signal: new AbortController().signal };

  /** The enclave's handlers with a real key ring and HPKE key; KMS is never reached by HPKE input. */
  async function enclave(publicSubmission: boolean) {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const producer = await generateHpkeKeyPair();
    const recipient = await HpkeRecipient.generate();
    const keys = new KeyRing();
    keys.set('tokenization', TOKEN_KEY.slice());
    const kms = new Proxy({}, { get: () => { throw new Error('KMS is not used for HPKE input'); } });
    const services = { identity: { hpke: recipient }, kms, keys } as unknown as EnclaveServices;
    const config = parseEnclaveConfig({
      kms: { region: 'us-east-1' },
      cards: { cardKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555', hpkeSenders: [Buffer.from(producer.publicKey).toString('base64')], publicSubmission: { enabled: publicSubmission } },
    });
    const registry = new HandlerRegistry();
    registerBuiltinHandlers(registry, services, config, () => (now += 100));
    const tokenize = (sealed: { enc: Uint8Array; ciphertext: Uint8Array; sender?: Uint8Array }) => registry.dispatch('cards.tokenize', { card: { hpke: sealed } }, ctx) as Promise<{ token: string }>;
    return { recipient, producer, tokenize };
  }

  it('without public submission: every candidate the parent seals is refused as unauthenticated', async () => {
    const e = await enclave(false);
    const outcomes = new Map<string, number>();
    for (const pan of candidates(40)) {
      const sealed = await sealHpke(e.recipient.publicKey, cardJson(pan), { info: HPKE_INFO.card });
      const code = await codeOf(e.tokenize(sealed));
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect([...outcomes]).toEqual([['ERR_SENDER_NOT_ALLOWED', 40]]);
    // The parent's own X25519 key is not on the allowlist either.
    const parentKey = await generateHpkeKeyPair();
    const sealed = await sealHpke(e.recipient.publicKey, cardJson(candidates(1)[0]!), { info: HPKE_INFO.card, senderPrivateKey: parentKey.privateKey });
    expect(await codeOf(e.tokenize({ ...sealed, sender: parentKey.publicKey }))).toBe('ERR_SENDER_NOT_ALLOWED');
  });

  it('with public submission: the (BIN, last 4) bucket stops the stream after its burst', async () => {
    const e = await enclave(true);
    const tokens: string[] = [];
    let limited = 0;
    for (const pan of candidates(60)) {
      const sealed = await sealHpke(e.recipient.publicKey, cardJson(pan), { info: HPKE_INFO.card });
      try {
        tokens.push((await e.tokenize(sealed)).token);
      } catch (error) {
        expect((error as EnclaveKitError).code).toBe('ERR_RATE_LIMITED');
        limited++;
      }
    }
    // 60 submissions within 6 simulated seconds: only the burst of 5 gets tokens.
    expect(tokens.length).toBe(DEFAULT_CARD_RATE_LIMITS.perKey.capacity);
    expect(limited).toBe(60 - tokens.length);
  });

  it('with public submission: a 15-digit PAN is refused before the limiter (too few middles behind a token)', async () => {
    const e = await enclave(true);
    const sealed = await sealHpke(e.recipient.publicKey, cardJson('378282246310005'), { info: HPKE_INFO.card });
    expect(await codeOf(e.tokenize(sealed))).toBe('ERR_SENDER_NOT_ALLOWED');
  });

  it('an allowlisted producer tokenizes without the public rate limit, same token as the direct path', async () => {
    const e = await enclave(true);
    const pan = '4111111111111111';
    for (let i = 0; i < 20; i++) {
      const sealed = await sealHpke(e.recipient.publicKey, cardJson(pan), { info: HPKE_INFO.card, senderPrivateKey: e.producer.privateKey });
      const result = await e.tokenize({ ...sealed, sender: e.producer.publicKey });
      expect(result.token).toBe(new Tokenizer(TOKEN_KEY.slice()).tokenize(pan));
    }
  });
});
