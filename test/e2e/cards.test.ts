/**
 * The card API end to end on real processes (docs/api.md): cards sealed by an ESDK
 * producer (KMS keyring at the simulator, the client principal's credentials) and by an HPKE
 * Auth-mode producer (shared/hpke, after verifying the attestation document) tokenize to the same
 * FF1 token; batches keep order with per-item errors; tampered, foreign-key and wrong-context
 * messages are refused with typed 4xx while the enclave keeps serving; detokenize-to reaches only
 * allowlisted recipients. The last test reads every byte the parent handled and every line it
 * logged: no PAN, middle digits, CVC or plaintext key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, GetKeyPolicyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { luhnCheckDigit } from '../../enclave/cards/luhn.js';
import { parseAttestation, verifyAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import {
  decodeHpkeUserData,
  generateHpkeKeyPair,
  HPKE_INFO,
  HpkeRecipient,
  openDetokenized,
  sealCardForEnclave,
  sealHpke,
  type HpkeKeyPair,
  type SealedEnvelopeJson,
} from '../../shared/hpke/index.js';
import { esdkProducer, type Producer } from './producer.js';
import { parentView, startStack, type Stack } from './stack.js';
import { findLeaks } from './tap.js';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const withLuhn = (partial: string): string => partial + String(luhnCheckDigit(partial));

// Test cards (Luhn-valid but the last). Their middle digits are distinct and each holds two
// adjacent digits ≥ 6, which no certificate time can (tap.ts findLeaks), so the leak check is specific.
const VISA = { pan: withLuhn('453914880343646'), exp: '12/39', cvc: '731' };
const MASTERCARD = { pan: withLuhn('542523997710990'), exp: '07/38', cvc: '905' };
const AMEX = { pan: withLuhn('37424597786012'), exp: '03/37', cvc: '2864' };
const EXPIRED = { pan: withLuhn('601100996613942'), exp: '01/20' };
const LUHN_OK = withLuhn('491761887766183');
const NOT_LUHN = { pan: `${LUHN_OK.slice(0, 15)}${(Number(LUHN_OK[15]) + 1) % 10}`, exp: '12/39' };
const CARDS = [VISA, MASTERCARD, AMEX, EXPIRED, NOT_LUHN];

let stack: Stack;
let producer: Producer;
let sender: HpkeKeyPair;
let stranger: HpkeKeyPair;
let processor: HpkeKeyPair;
let rootPem: string;
/** Every token the API returned: what the leak check may find on the parent's sockets. */
const tokens = new Set<string>();

beforeAll(async () => {
  [sender, stranger, processor] = await Promise.all([generateHpkeKeyPair(), generateHpkeKeyPair(), generateHpkeKeyPair()]);
  stack = await startStack({
    cards: { hpkeSenders: [b64(sender.publicKey)], detokenizeRecipients: { processor: b64(processor.publicKey) } },
    // As a careless (or rogue) parent would grant it: the enclave's own recipient list still refuses.
    tokenScopes: ['cards:detokenize:attacker'],
  });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  rootPem = readFileSync(path.join(stack.dir, 'sim', 'root.pem'), 'utf8');
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
  for (const pair of [sender, stranger, processor]) pair?.privateKey.fill(0);
});

function verifyOptions(nonce?: Uint8Array): VerifyOptions {
  return { at: Date.now(), roots: [rootPem], expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! }, maxAgeMs: 60_000, ...(nonce ? { nonce } : {}) };
}

async function attestationDocument(nonceHex = ''): Promise<Uint8Array> {
  const res = await stack.api(`/v1/attestation${nonceHex ? `?nonce=${nonceHex}` : ''}`);
  expect(res.status).toBe(200);
  return new Uint8Array(Buffer.from(res.json.document, 'base64'));
}

async function tokenize(card: unknown): Promise<{ status: number; json: any }> {
  const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card }) });
  if (res.status === 200) tokens.add(res.json.token);
  return res;
}

async function hpkeCard(card: { pan: string; exp: string; cvc?: string }, senderKey: Uint8Array | null = sender.privateKey): Promise<SealedEnvelopeJson> {
  return sealCardForEnclave(card, { attestationDocument: await attestationDocument(), verify: verifyOptions(), ...(senderKey === null ? {} : { senderKey }) });
}

/** Flips one bit `fromEnd` bytes before the end of a base64 message. */
function tamper(message: string, fromEnd: number): string {
  const bytes = Buffer.from(message, 'base64');
  bytes[bytes.length - fromEnd]! ^= 0x01;
  return bytes.toString('base64');
}

describe('tokenize: ESDK and HPKE producers', () => {
  it('verifies the attestation document, then an ESDK card and an HPKE Auth card give the same FF1 token', async () => {
    // The client's side of the trust model: the document verifies with the sim root and the
    // measured PCRs, and its user_data carries the enclave's HPKE key.
    const nonce = Buffer.from('6e6f6e63652d6361726473', 'hex');
    const doc = await attestationDocument(nonce.toString('hex'));
    const verified = verifyAttestation(doc, verifyOptions(nonce));
    const { hpke } = decodeHpkeUserData(verified.userData);
    expect(hpke.publicKey).toHaveLength(32);

    const viaEsdk = await tokenize({ esdk: await producer.sealCard(VISA) });
    const viaHpke = await tokenize({ hpke: await hpkeCard(VISA) });
    expect(viaEsdk.status).toBe(200);
    expect(viaHpke.status).toBe(200);
    expect(viaHpke.json).toEqual(viaEsdk.json);
    expect(viaEsdk.json).toEqual({ token: viaEsdk.json.token, bin: VISA.pan.slice(0, 6), last4: VISA.pan.slice(-4), brand: 'visa', luhnValid: true, expired: false });
    // Format-preserving: same length, BIN and last 4 kept, the middle changed.
    const token: string = viaEsdk.json.token;
    expect(token).toMatch(/^\d{16}$/);
    expect(token.slice(0, 6) + token.slice(-4)).toBe(VISA.pan.slice(0, 6) + VISA.pan.slice(-4));
    expect(token.slice(6, -4)).not.toBe(VISA.pan.slice(6, -4));
    // It is FF1 under the KMS-wrapped tokenization key the parent handed over (and never saw).
    const reference = new Tokenizer(stack.plaintextKeys['tokenization']!);
    expect(token).toBe(reference.tokenize(VISA.pan));
    reference.dispose();
    // Deterministic: another ESDK message (a new data key) gives the same token.
    expect((await tokenize({ esdk: await producer.sealCard({ ...VISA, name: 'Jane Roe' }) })).json.token).toBe(token);
  });

  it('the HPKE helper refuses a document that does not match the expected PCRs (it verifies before sealing)', async () => {
    const doc = await attestationDocument();
    await expect(sealCardForEnclave(VISA, { attestationDocument: doc, verify: { ...verifyOptions(), expectedPcrs: { 0: '00'.repeat(48) } }, senderKey: sender.privateKey })).rejects.toMatchObject({
      code: 'ERR_PCR_MISMATCH',
    });
    await expect(sealCardForEnclave(VISA, { attestationDocument: doc, verify: { at: Date.now(), roots: [rootPem], anyPcrs: true } })).rejects.toMatchObject({ code: 'ERR_ATTESTATION_POLICY' });
  });

  it('reports brand, Luhn and expiry per card (amex 15 digits, an expired card, a Luhn failure)', async () => {
    const amex = await tokenize({ esdk: await producer.sealCard(AMEX) });
    expect(amex.json).toMatchObject({ bin: '374245', last4: AMEX.pan.slice(-4), brand: 'amex', luhnValid: true, expired: false });
    expect(amex.json.token).toHaveLength(15);
    const expired = await tokenize({ hpke: await hpkeCard(EXPIRED) });
    expect(expired.json).toMatchObject({ brand: 'discover', luhnValid: true, expired: true });
    const notLuhn = await tokenize({ esdk: await producer.sealCard(NOT_LUHN) });
    expect(notLuhn.json).toMatchObject({ luhnValid: false, expired: false });
  });

  it('a record that is not a card is a typed 422 that names no input', async () => {
    const res = await tokenize({ esdk: await producer.seal(JSON.stringify({ pan: '4111-1111', exp: '12/39' })) });
    expect(res).toMatchObject({ status: 422, json: { error: { code: 'ERR_INVALID_CARD' } } });
    expect(JSON.stringify(res.json)).not.toContain('4111');
  });
});

describe('tokenize-batch', () => {
  it('keeps order: good items succeed, tampered and wrong-context items fail one by one', async () => {
    const [visa, mastercard] = await Promise.all([tokenize({ esdk: await producer.sealCard(VISA) }), tokenize({ esdk: await producer.sealCard(MASTERCARD) })]);
    const hpkeMastercard = await hpkeCard(MASTERCARD);
    const items = [
      { esdk: await producer.sealCard(VISA) },
      { esdk: tamper(await producer.sealCard(MASTERCARD), 110) },
      { hpke: hpkeMastercard },
      { esdk: await producer.seal(JSON.stringify(AMEX), { purpose: 'pii-text' }) },
      { hpke: { ...hpkeMastercard, ciphertext: tamper(hpkeMastercard.ciphertext, 3) } },
      { hpke: await hpkeCard(VISA, stranger.privateKey) },
      { esdk: await producer.sealCard(MASTERCARD) },
      { esdk: await producer.seal('not json') },
    ];
    const res = await stack.api('/v1/cards/tokenize-batch', { method: 'POST', body: JSON.stringify({ cards: items }) });
    expect(res.status).toBe(200);
    const results = res.json.results as any[];
    for (const r of results) if (typeof r.token === 'string') tokens.add(r.token);
    expect(results).toHaveLength(items.length);
    expect(results[0]).toEqual(visa.json);
    expect(results[1]).toMatchObject({ error: { code: 'ERR_DECRYPT_FAILED' } });
    expect(results[2]).toEqual(mastercard.json);
    expect(results[3]).toMatchObject({ error: { code: 'ERR_ENCRYPTION_CONTEXT' } });
    expect(results[4]).toMatchObject({ error: { code: 'ERR_DECRYPT_FAILED' } });
    expect(results[5]).toMatchObject({ error: { code: 'ERR_SENDER_NOT_ALLOWED' } });
    expect(results[6]).toEqual(mastercard.json);
    expect(results[7]).toMatchObject({ error: { code: 'ERR_INVALID_CARD' } });
    // Errors are {error: {code, message}} only.
    for (const r of results.filter((x) => 'error' in x)) expect(Object.keys(r)).toEqual(['error']);
  });

  it('refuses more than 1000 items (413) and an empty batch (400) before reaching the enclave', async () => {
    const tooMany = await stack.api('/v1/cards/tokenize-batch', { method: 'POST', body: JSON.stringify({ cards: Array.from({ length: 1001 }, () => ({ esdk: 'AAAA' })) }) });
    expect(tooMany).toMatchObject({ status: 413, json: { error: { code: 'ERR_BATCH_TOO_LARGE' } } });
    const empty = await stack.api('/v1/cards/tokenize-batch', { method: 'POST', body: JSON.stringify({ cards: [] }) });
    expect(empty).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
  });
});

describe('refusals: typed 4xx, and the enclave keeps serving', () => {
  it('a tampered or truncated ESDK message is a typed 400; the next request succeeds', async () => {
    const sealed = await producer.sealCard(MASTERCARD);
    for (const fromEnd of [110, 30]) {
      const res = await tokenize({ esdk: tamper(sealed, fromEnd) });
      expect(res).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED', message: 'decryption failed' } } });
    }
    const truncated = Buffer.from(sealed, 'base64').subarray(0, 200).toString('base64');
    expect(await tokenize({ esdk: truncated })).toMatchObject({ status: 400, json: { error: { code: 'ERR_SEALED_INPUT_MALFORMED' } } });
    expect(await tokenize({ esdk: 'not base64!' })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(await tokenize({ esdk: sealed, extra: 1 })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(stack.enclave().exitCode).toBeNull();
    const ok = await tokenize({ esdk: sealed });
    expect(ok).toMatchObject({ status: 200, json: { bin: '542523', brand: 'mastercard' } });
  });

  it('an ESDK message under another KMS key is 403 ERR_SENDER_NOT_ALLOWED, though the producer may use that key', async () => {
    const admin = stack.principal('admin').arn;
    const client = stack.principal('client').arn;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: admin }, Action: 'kms:*', Resource: '*' },
        { Sid: 'Producer', Effect: 'Allow', Principal: { AWS: client }, Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: '*' },
      ],
    };
    const other = await stack.kms('admin').send(new CreateKeyCommand({ Policy: JSON.stringify(policy), Description: 'not the card key' }));
    const foreign = esdkProducer(stack.sim, stack.principal('client'), other.KeyMetadata!.Arn!);
    try {
      const res = await tokenize({ esdk: await foreign.sealCard(VISA) });
      expect(res).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
    } finally {
      foreign.close();
    }
  });

  it('an ESDK message without the required context (purpose=card) is 400 ERR_ENCRYPTION_CONTEXT, even when KMS would allow it', async () => {
    // Wrong value: a PII message offered as a card.
    expect(await tokenize({ esdk: await producer.seal(JSON.stringify(VISA), { purpose: 'pii-text' }) })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    // Missing: the generated policy already stops producers from encrypting without `purpose`;
    // a test-only statement lifts that so the enclave's own check is what refuses.
    const admin = stack.kms('admin');
    const current = JSON.parse((await admin.send(new GetKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default' }))).Policy!);
    const loosened = {
      ...current,
      Statement: [...current.Statement, { Sid: 'TestOnlyProducerWithoutContext', Effect: 'Allow', Principal: { AWS: stack.principal('client').arn }, Action: 'kms:GenerateDataKey', Resource: '*' }],
    };
    await admin.send(new PutKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default', Policy: JSON.stringify(loosened) }));
    try {
      const noPurpose = await producer.seal(JSON.stringify(VISA), { tenant: 'acme' });
      expect(await tokenize({ esdk: noPurpose })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    } finally {
      await admin.send(new PutKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default', Policy: JSON.stringify(current) }));
    }
  });

  it('HPKE from a sender not on the allowlist is 403, in Auth mode and in Base mode', async () => {
    expect(await tokenize({ hpke: await hpkeCard(VISA, stranger.privateKey) })).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
    expect(await tokenize({ hpke: await hpkeCard(VISA, null) })).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
    // Claiming an allowlisted sender without its private key: the Base-mode message does not open as Auth.
    const { hpke } = decodeHpkeUserData(parseAttestation(await attestationDocument()).userData);
    const forged = await sealHpke(hpke.publicKey, Buffer.from(JSON.stringify(VISA)), { info: HPKE_INFO.card });
    expect(await tokenize({ hpke: { enc: b64(forged.enc), ciphertext: b64(forged.ciphertext), sender: b64(sender.publicKey) } })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_DECRYPT_FAILED' } },
    });
  });

  it('limits (docs/api.md): card record 1024 bytes (413), sealed value 64 KiB (400), HTTP body 4 MiB (413)', async () => {
    const bigCard = await producer.seal(JSON.stringify({ ...VISA, name: 'x'.repeat(1100) }));
    expect(await tokenize({ esdk: bigCard })).toMatchObject({ status: 413, json: { error: { code: 'ERR_BODY_TOO_LARGE' } } });
    const tooLongSealed = Buffer.alloc(64 * 1024 + 3).toString('base64');
    expect(await tokenize({ esdk: tooLongSealed })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST', message: 'card.esdk: at most 65536 bytes' } } });
    const hugeBody = JSON.stringify({ cards: [{ esdk: 'A'.repeat(4 * 1024 * 1024) }] });
    expect(await stack.api('/v1/cards/tokenize-batch', { method: 'POST', body: hugeBody })).toMatchObject({ status: 413, json: { error: { code: 'ERR_BODY_TOO_LARGE' } } });
    expect(await tokenize({ esdk: await producer.sealCard(AMEX) })).toMatchObject({ status: 200 });
  });

  it('serves its OpenAPI description (behind the token)', async () => {
    const res = await stack.api('/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    expect(Object.keys(res.json.paths)).toContain('/v1/cards/tokenize');
    expect((await fetch(`${stack.parentUrl}/v1/openapi.json`)).status).toBe(401);
  });

  it('requires the bearer token', async () => {
    const res = await fetch(`${stack.parentUrl}/v1/cards/tokenize`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('ERR_UNAUTHORIZED');
  });
});

describe('detokenize-to', () => {
  it('re-encrypts the PAN in Auth mode from the enclave key; the recipient opens it after verifying the attached document', async () => {
    const { json } = await tokenize({ esdk: await producer.sealCard(VISA) });
    const res = await stack.api('/v1/cards/detokenize-to', { method: 'POST', body: JSON.stringify({ token: json.token, recipient: 'processor' }) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(['attestation', 'ciphertext', 'enc', 'recipient']);
    expect(res.json.recipient).toBe('processor');
    const recipient = await HpkeRecipient.fromPrivateKey(processor.privateKey);
    try {
      expect(await openDetokenized(res.json, { token: json.token, recipient, verify: verifyOptions() })).toEqual({ pan: VISA.pan });
      // The token is bound as aad: the same ciphertext does not open as the answer for another token.
      await expect(openDetokenized(res.json, { token: VISA.pan, recipient, verify: verifyOptions() })).rejects.toMatchObject({ code: 'ERR_DECRYPT_FAILED' });
      // Base mode (what anyone, the parent included, can make) does not open it either.
      const sealed = { enc: Buffer.from(res.json.enc, 'base64'), ciphertext: Buffer.from(res.json.ciphertext, 'base64') };
      await expect(recipient.open(sealed, { info: HPKE_INFO.detokenize, aad: Buffer.from(json.token) })).rejects.toMatchObject({ code: 'ERR_DECRYPT_FAILED' });
    } finally {
      recipient.dispose();
    }
  });

  it('a token without the recipient scope (the default scopes of a bare-string token) is 403 ERR_FORBIDDEN', async () => {
    const token = [...tokens][0]!;
    const res = await fetch(`${stack.parentUrl}/v1/cards/detokenize-to`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.legacyToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token, recipient: 'processor' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe('ERR_FORBIDDEN');
    // The same token still tokenizes.
    const ok = await fetch(`${stack.parentUrl}/v1/cards/tokenize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.legacyToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ card: { esdk: await producer.sealCard(VISA) } }),
    });
    expect(ok.status).toBe(200);
  });

  it('an unknown recipient is 403 ERR_RECIPIENT_NOT_ALLOWED; a malformed token is 400', async () => {
    const token = [...tokens][0]!;
    expect(await stack.api('/v1/cards/detokenize-to', { method: 'POST', body: JSON.stringify({ token, recipient: 'attacker' }) })).toMatchObject({
      status: 403,
      json: { error: { code: 'ERR_RECIPIENT_NOT_ALLOWED' } },
    });
    // The parent cannot bring its own key: a key in place of a name is just an unknown name.
    expect(await stack.api('/v1/cards/detokenize-to', { method: 'POST', body: JSON.stringify({ token, recipient: b64(stranger.publicKey) }) })).toMatchObject({ status: 403 });
    expect(await stack.api('/v1/cards/detokenize-to', { method: 'POST', body: JSON.stringify({ token: 'abc', recipient: 'processor' }) })).toMatchObject({
      status: 400,
      json: { error: { code: 'ERR_BAD_REQUEST' } },
    });
  });
});

describe('plaintext stays inside', () => {
  it('no PAN, middle digits, CVC or plaintext key on any parent socket or in any parent log line', () => {
    expect(tokens.size).toBeGreaterThanOrEqual(CARDS.length);
    const secrets: Record<string, Uint8Array | string> = {};
    CARDS.forEach((card, i) => {
      secrets[`PAN ${i}`] = card.pan;
      // Six middle digits (16-digit PANs) are searched alone. Five (a 15-digit Amex) turn up by
      // chance among the decimal runs of a run's taps about once in twenty runs (ms timestamps,
      // lengths, counters), so those are searched with the BIN in front: still no PAN prefix
      // beyond what tokens show may cross the parent.
      const middle = card.pan.slice(6, -4);
      secrets[`middle digits of PAN ${i}`] = middle.length >= 6 ? middle : card.pan.slice(0, -4);
      expect(middle).toMatch(/[6-9]{2}/);
      if ('cvc' in card) secrets[`CVC of card ${i}`] = `"cvc":"${card.cvc}"`;
    });
    for (const [name, key] of Object.entries(stack.plaintextKeys)) secrets[`${name} key`] = key;
    // The tokens carry no middle digits of their PANs (so cutting them out of the text hides nothing).
    for (const token of tokens) for (const card of CARDS) if (token.length === card.pan.length) expect(token.slice(6, -4)).not.toBe(card.pan.slice(6, -4));
    // The enclave's own console too (on hardware only a debug-mode enclave's console is readable).
    const view = { ...parentView(stack), 'the enclave output': stack.enclaveOutput() };
    expect(stack.taps.tunnel.bytes().length).toBeGreaterThan(0);
    expect(stack.parentLog().length).toBeGreaterThan(0);
    expect(findLeaks(view, secrets, tokens)).toEqual([]);
    // The check sees a leak in any of its forms (raw, inside a token-like run, base64 of a key).
    const probe = `x ${VISA.pan.slice(0, 12)} ${Buffer.from(stack.plaintextKeys['tokenization']!).toString('base64')} {"cvc":"${VISA.cvc}"}`;
    expect(findLeaks({ probe }, secrets, tokens)).toEqual(['middle digits of PAN 0 in probe', 'CVC of card 0 in probe', 'tokenization key in probe']);
  });
});
