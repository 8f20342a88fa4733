/**
 * The kmsRsa input format and its opening in the enclave, with KMS played by a local RSA key (the
 * simulator-backed tests are in kms-rsa-kms.test.ts): tampering anywhere, a relabelled operation,
 * another key, cut and oversized inputs are all refused with typed errors before any plaintext
 * reaches a handler; inputs made by OpenSSL alone open.
 */
import { execFileSync } from 'node:child_process';
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KmsRsaSealer, kmsRsaKeyId, sealWithKmsPublicKey } from '../../client/kms-rsa.js';
import { withBuiltinInput, type SealedInputContext } from '../../enclave/app/sealed-input.js';
import { openKmsRsaInput, type KmsRsaDecryptClient } from '../../enclave/sealed/kms-rsa.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const spki = rsa.publicKey.export({ format: 'der', type: 'spki' });
const otherSpki = other.publicKey.export({ format: 'der', type: 'spki' });
const pin = { keyArn: KEY_ARN, publicKeySha256: kmsRsaKeyId(spki) };

/** KMS Decrypt as the attested client returns it (a fresh Plaintext buffer), counting calls. */
function fakeKms(privateKey = rsa.privateKey) {
  const handedOut: Uint8Array[] = [];
  const client: KmsRsaDecryptClient & { calls: number; handedOut: Uint8Array[] } = {
    calls: 0,
    handedOut,
    async decrypt(input) {
      client.calls += 1;
      expect(input).toMatchObject({ KeyId: KEY_ARN, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
      let plaintext: Uint8Array;
      try {
        plaintext = new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, input.CiphertextBlob));
      } catch {
        throw Object.assign(new Error('bad ciphertext'), { name: 'InvalidCiphertextException' });
      }
      handedOut.push(plaintext);
      return { KeyId: KEY_ARN, Plaintext: plaintext };
    },
  };
  return client;
}

/** `key` null: an enclave configured without an RSA key. */
const open = (bytes: Uint8Array, purpose: string, field?: string, kms = fakeKms(), key: typeof pin | null = pin) =>
  openKmsRsaInput(bytes, { kms, key: key ?? undefined, purpose, field, maxBytes: 4096 });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    return (error as EnclaveKitError).code;
  }
  throw new Error('expected a refusal');
}

const CARD = '{"pan":"4111111111111111","exp":"12/30"}';
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('kmsRsa inputs', () => {
  it('open for the operation and field they were sealed for', async () => {
    expect(text(await open(sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }), 'card'))).toBe(CARD);
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(text(await open(sealWithKmsPublicKey(pem, '123-45-6789', { purpose: 'pii-value', field: 'ssn' }), 'pii-value', 'ssn'))).toBe('123-45-6789');
  });

  it('a relabelled operation or field is ERR_DECRYPT_FAILED, and the handler never runs', async () => {
    const ssn = sealWithKmsPublicKey(spki, '123-45-6789', { purpose: 'pii-value', field: 'ssn' });
    const ctx = { kms: fakeKms(), cardKeyArn: KEY_ARN, rsaKey: pin } as unknown as SealedInputContext;
    let used = 0;
    for (const [purpose, field] of [['pii-text'], ['card'], ['pii-value', 'email'], ['pii-value', 'name']] as [string, string?][]) {
      const code = await codeOf(withBuiltinInput({ kmsRsa: ssn }, { purpose, ...(field === undefined ? {} : { field }), maxBytes: 4096 }, ctx, () => (used += 1)));
      expect(code, `${purpose}/${field}`).toBe('ERR_DECRYPT_FAILED');
    }
    expect(used).toBe(0);
    expect(await withBuiltinInput({ kmsRsa: ssn }, { purpose: 'pii-value', field: 'ssn', maxBytes: 4096 }, ctx, ({ origin }) => origin)).toBe('kms-rsa');
  });

  it('every flipped byte is refused with a typed error before any plaintext exists', async () => {
    const sealed = sealWithKmsPublicKey(spki, CARD, { purpose: 'card' });
    const n = 256;
    const expected = (i: number): string[] => {
      if (i === 0 || i === 33 || i === 34) return ['ERR_SEALED_INPUT_MALFORMED'];
      if (i >= 1 && i < 33) return ['ERR_SENDER_NOT_ALLOWED'];
      return ['ERR_DECRYPT_FAILED'];
    };
    // Every header byte, and a spread of the wrapped secret, counter block, ciphertext and tag.
    const offsets = [...Array.from({ length: 40 }, (_, i) => i), 35 + n - 1, 35 + n, 35 + n + 15, 35 + n + 16, sealed.length - 33, sealed.length - 1];
    for (const i of offsets) {
      const tampered = Uint8Array.from(sealed);
      tampered[i]! ^= 0x01;
      expect(expected(i), `byte ${i}`).toContain(await codeOf(open(tampered, 'card')));
    }
  });

  it('another key: refused by key id before any KMS call; a forged key id fails in KMS', async () => {
    const kms = fakeKms();
    const underOther = sealWithKmsPublicKey(otherSpki, CARD, { purpose: 'card' });
    expect(await codeOf(open(underOther, 'card', undefined, kms))).toBe('ERR_SENDER_NOT_ALLOWED');
    expect(kms.calls).toBe(0);
    const relabelled = Uint8Array.from(underOther);
    relabelled.set(Buffer.from(pin.publicKeySha256, 'hex'), 1);
    expect(await codeOf(open(relabelled, 'card', undefined, kms))).toBe('ERR_DECRYPT_FAILED');
    expect(kms.calls).toBe(1);
    // No RSA key configured: nothing of this kind is accepted.
    expect(await codeOf(open(sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }), 'card', undefined, kms, null))).toBe('ERR_SENDER_NOT_ALLOWED');
  });

  it('cut, empty, unknown-version and oversized inputs', async () => {
    const sealed = sealWithKmsPublicKey(spki, CARD, { purpose: 'card' });
    for (const cut of [0, 1, 34, 35, 35 + 256, 35 + 256 + 16 + 31]) expect(await codeOf(open(sealed.subarray(0, cut), 'card'))).toBe('ERR_SEALED_INPUT_MALFORMED');
    const big = sealWithKmsPublicKey(spki, 'x'.repeat(4097), { purpose: 'pii-text' });
    const kms = fakeKms();
    expect(await codeOf(open(big, 'pii-text', undefined, kms))).toBe('ERR_BODY_TOO_LARGE');
    expect(kms.calls).toBe(0);
  });

  it('the unwrapped secret is zeroed after use, whether the tag matches or not', async () => {
    const kms = fakeKms();
    await open(sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }), 'card', undefined, kms);
    await codeOf(open(sealWithKmsPublicKey(spki, CARD, { purpose: 'card' }), 'pii-text', undefined, kms));
    expect(kms.handedOut).toHaveLength(2);
    for (const secret of kms.handedOut) expect(secret.every((b) => b === 0)).toBe(true);
  });

  it('a sealer reuses one wrapped secret per batch and rotates by count and age', () => {
    let now = 0;
    const sealer = new KmsRsaSealer(spki, { maxMessages: 3, maxAgeMs: 1000, now: () => now });
    const wrappedOf = (b: Uint8Array) => Buffer.from(b.subarray(35, 35 + 256)).toString('hex');
    const a = [1, 2, 3].map(() => wrappedOf(sealer.seal(CARD, { purpose: 'card' })));
    expect(new Set(a).size).toBe(1);
    const fourth = wrappedOf(sealer.seal(CARD, { purpose: 'card' }));
    expect(fourth).not.toBe(a[0]);
    now = 1000;
    expect(wrappedOf(sealer.seal(CARD, { purpose: 'card' }))).not.toBe(fourth);
    expect(sealer.secretsMade).toBe(3);
    sealer.dispose();
    expect(() => sealer.seal(CARD, { purpose: 'pii-value' })).toThrow(RangeError);
    expect(() => new KmsRsaSealer(other.publicKey.export({ format: 'der', type: 'pkcs1' }))).toThrow();
  });
});

describe('enclave config: cards.rsaKey', () => {
  const CARD_KEY = 'arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000';
  const withRsa = (rsaKey: unknown) => ({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: CARD_KEY, ...(rsaKey === undefined ? {} : { rsaKey }) } });
  const refusal = (raw: unknown): string => {
    try {
      parseEnclaveConfig(raw);
    } catch (error) {
      expect((error as EnclaveKitError).code).toBe('ERR_CONFIG');
      return (error as Error).message;
    }
    throw new Error('expected ERR_CONFIG');
  };

  it('is optional, and pins the key by ARN and public-key hash', () => {
    expect(parseEnclaveConfig(withRsa(undefined)).cards?.rsaKey).toBeUndefined();
    expect(parseEnclaveConfig(withRsa(pin)).cards?.rsaKey).toEqual(pin);
  });

  it('refuses a missing or malformed hash, an alias and unknown keys', () => {
    expect(refusal(withRsa({ keyArn: KEY_ARN }))).toMatch(/cards\.rsaKey\.publicKeySha256/);
    expect(refusal(withRsa({ ...pin, publicKeySha256: 'AB'.repeat(32) }))).toMatch(/cards\.rsaKey\.publicKeySha256/);
    expect(refusal(withRsa({ ...pin, keyArn: 'alias/producers' }))).toMatch(/cards\.rsaKey\.keyArn/);
    expect(refusal(withRsa({ ...pin, encryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).toMatch(/cards\.rsaKey/);
  });
});

const opensslOk = OPENSSL_AVAILABLE;
if (!opensslOk) console.warn('kms-rsa.test.ts: no openssl on PATH, the OpenSSL interoperability test is skipped');

describe.skipIf(!opensslOk)('kmsRsa inputs made by OpenSSL alone (docs/api.md)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ek-kms-rsa-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(import.meta.dirname, 'kms-rsa-openssl.sh');
  const pub = join(dir, 'pub.der');
  writeFileSync(pub, spki);
  const seal = (plaintext: string, label: string) => new Uint8Array(Buffer.from(execFileSync('bash', [script, pub, label], { input: plaintext }).toString().trim(), 'base64'));

  it('open in the enclave, bound to their label', async () => {
    expect(text(await open(seal(CARD, 'enclavekit/v1/card'), 'card'))).toBe(CARD);
    const email = seal('a@example.com', 'enclavekit/v1/pii-value/email');
    expect(text(await open(email, 'pii-value', 'email'))).toBe('a@example.com');
    expect(await codeOf(open(email, 'pii-text'))).toBe('ERR_DECRYPT_FAILED');
  });
});
