/**
 * Offline producers end to end on real processes (docs/api.md "Inputs sealed to a KMS RSA public
 * key"): the local stack's RSA_2048 key (cli/dev/stack.ts, under the generated policy of kind rsa,
 * pinned in the enclave config), its public key fetched with the unmodified SDK's GetPublicKey by the producer principal, a card sealed with
 * the OpenSSL command line alone tokenizes through parent and enclave to the same token as the
 * ESDK and HPKE inputs of that card. The parent, holding the enclave role's credentials, cannot
 * Decrypt the wrapped secret itself nor read the public key, and relabelled inputs are refused.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DecryptCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsRsaSealer } from '../../client/kms-rsa.js';
import { generateHpkeKeyPair, sealCardForEnclave, type HpkeKeyPair } from '../../shared/hpke/index.js';
import { parseKmsRsaSealed } from '../../shared/sealed/kms-rsa-format.js';
import { esdkProducer, type Producer } from './producer.js';
import { parentView, startStack, type Stack } from './stack.js';
import { findLeaks } from './tap.js';
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';

const OPENSSL_SCRIPT = path.join(import.meta.dirname, '../sealed/kms-rsa-openssl.sh');
const opensslOk = OPENSSL_AVAILABLE;
if (!opensslOk) console.warn('kms-rsa e2e: no openssl on PATH, the OpenSSL-only producer test is skipped');

// Luhn-valid test card whose middle digits hold adjacent digits ≥ 6 (tap.ts findLeaks is specific).
const CARD = { pan: '4539148803436467', exp: '12/39', cvc: '731' };
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

let stack: Stack;
let producer: Producer;
let sender: HpkeKeyPair;
let rsaKeyArn: string;
let publicKeyFile: string;
let publicKeyDer: Uint8Array;

beforeAll(async () => {
  sender = await generateHpkeKeyPair();
  stack = await startStack({ cards: { hpkeSenders: [b64(sender.publicKey)] } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);

  rsaKeyArn = stack.rsaKeyArn;
  // The producer's one KMS call, with the unmodified SDK.
  publicKeyDer = (await stack.kms('client').send(new GetPublicKeyCommand({ KeyId: rsaKeyArn }))).PublicKey!;
  publicKeyFile = path.join(stack.dir, 'rsa-key.der');
  writeFileSync(publicKeyFile, publicKeyDer);
}, 180_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
  sender?.privateKey.fill(0);
});

/** Every token the API returned: cut out before the leak check (they are meant to be seen). */
const tokens = new Set<string>();
async function post(pathname: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await stack.api(pathname, { method: 'POST', body: JSON.stringify(body) });
  for (const item of [res.json, ...((res.json?.results as unknown[]) ?? [])]) if (typeof (item as { token?: unknown })?.token === 'string') tokens.add((item as { token: string }).token);
  return res;
}

function opensslSeal(plaintext: string, label: string): string {
  return execFileSync('bash', [OPENSSL_SCRIPT, publicKeyFile, label], { input: plaintext }).toString().trim();
}

async function hpkeCard(): Promise<unknown> {
  const doc = new Uint8Array(Buffer.from((await stack.api('/v1/attestation')).json.document, 'base64'));
  const rootPem = readFileSync(path.join(stack.dir, 'sim', 'root.pem'), 'utf8');
  const verify = { at: Date.now(), roots: [rootPem], expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! }, maxAgeMs: 60_000 };
  return sealCardForEnclave(CARD, { attestationDocument: doc, verify, senderKey: sender.privateKey });
}

describe.skipIf(!opensslOk)('kmsRsa: a producer with OpenSSL alone', () => {
  it('tokenizes to the same token as the ESDK and HPKE inputs of the same card', async () => {
    const viaOpenssl = await post('/v1/cards/tokenize', { card: { kmsRsa: opensslSeal(JSON.stringify(CARD), 'enclavekit/v1/card') } });
    const viaEsdk = await post('/v1/cards/tokenize', { card: { esdk: await producer.sealCard(CARD) } });
    const viaHpke = await post('/v1/cards/tokenize', { card: { hpke: await hpkeCard() } });
    expect(viaEsdk.status).toBe(200);
    expect(viaOpenssl).toMatchObject({ status: 200, json: { token: viaEsdk.json.token, bin: '453914', last4: '6467' } });
    expect(viaHpke.json.token).toBe(viaEsdk.json.token);
    expect(viaOpenssl.json.token).not.toBe(CARD.pan);
  });

  it('refuses the same input relabelled: a card sent to redact, a field sent as another', async () => {
    const card = opensslSeal(JSON.stringify(CARD), 'enclavekit/v1/card');
    expect(await post('/v1/pii/redact', { text: { kmsRsa: card } })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
    const ssn = opensslSeal('123-45-6789', 'enclavekit/v1/pii-value/ssn');
    const wrongField = await post('/v1/pii/blind-index', { field: 'phone', values: [{ kmsRsa: ssn }] });
    expect(wrongField).toMatchObject({ status: 200, json: { results: [{ error: { code: 'ERR_DECRYPT_FAILED' } }] } });
    expect(await post('/v1/pii/redact', { text: { kmsRsa: ssn } })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
    const right = await post('/v1/pii/blind-index', { field: 'ssn', values: [{ kmsRsa: ssn }] });
    expect(right.json.results[0].digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('kmsRsa: enclavekit/client and the parent', () => {
  it('the stack pins the key the producer reads: its ARN and the SHA-256 of the GetPublicKey bytes', () => {
    const config = JSON.parse(readFileSync(path.join(stack.dir, 'run', 'enclave.json'), 'utf8')) as { cards: { rsaKey?: unknown } };
    expect(config.cards.rsaKey).toEqual({ keyArn: rsaKeyArn, publicKeySha256: createHash('sha256').update(publicKeyDer).digest('hex') });
  });

  it('a batch under one wrapped secret tokenizes like ESDK; redact takes kmsRsa text', async () => {
    const sealer = new KmsRsaSealer(publicKeyDer);
    const cards = [CARD, { pan: '5425239977109909', exp: '07/38' }].map((c) => ({ kmsRsa: b64(sealer.seal(JSON.stringify(c), { purpose: 'card' })) }));
    const batch = await post('/v1/cards/tokenize-batch', { cards });
    const single = await post('/v1/cards/tokenize', { card: { esdk: await producer.sealCard(CARD) } });
    expect(batch.status).toBe(200);
    expect(batch.json.results[0].token).toBe(single.json.token);
    expect(batch.json.results[1].token).toMatch(/^542523\d{6}9909$/);
    const text = await post('/v1/pii/redact', { text: { kmsRsa: b64(sealer.seal('mail jane.doe@example.com', { purpose: 'pii-text' })) } });
    expect(text).toMatchObject({ status: 200, json: { text: 'mail [EMAIL]' } });
    expect(sealer.secretsMade).toBe(1);
    sealer.dispose();
  });

  it('the parent cannot Decrypt the wrapped secret with the enclave role (no Recipient), nor read the public key', async () => {
    const { wrappedSecret } = parseKmsRsaSealed(new KmsRsaSealer(publicKeyDer).seal(JSON.stringify(CARD), { purpose: 'card' }), 4096);
    const enclaveRole = stack.kms('enclave');
    await expect(enclaveRole.send(new DecryptCommand({ KeyId: rsaKeyArn, CiphertextBlob: wrappedSecret, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(enclaveRole.send(new GetPublicKeyCommand({ KeyId: rsaKeyArn }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('another key id is refused (403) and a cut input is malformed (400); the parent never sees the card', async () => {
    const sealed = new KmsRsaSealer(publicKeyDer).seal(JSON.stringify(CARD), { purpose: 'card' });
    const otherKey = Uint8Array.from(sealed);
    otherKey[5]! ^= 0xff;
    expect(await post('/v1/cards/tokenize', { card: { kmsRsa: b64(otherKey) } })).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
    expect(await post('/v1/cards/tokenize', { card: { kmsRsa: b64(sealed.subarray(0, 40)) } })).toMatchObject({ status: 400, json: { error: { code: 'ERR_SEALED_INPUT_MALFORMED' } } });
    const secrets: Record<string, Uint8Array | string> = { PAN: CARD.pan, 'middle digits': CARD.pan.slice(6, -4), CVC: `"cvc":"${CARD.cvc}"`, SSN: '123-45-6789' };
    for (const [name, key] of Object.entries(stack.plaintextKeys)) secrets[`${name} key`] = key;
    expect(tokens.size).toBeGreaterThan(0);
    expect(findLeaks({ ...parentView(stack), 'the enclave output': stack.enclaveOutput() }, secrets, tokens)).toEqual([]);
  });
});
