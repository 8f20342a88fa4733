import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { generateHpkeKeyPair, HPKE_INFO, hpkePublicKeyOf, importPrivateKey, zeroPrivateKey } from '../../shared/hpke/suite.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const CARD = text('{"pan":"4111111111111111","exp":"12/30"}');

async function decryptFailure(promise: Promise<unknown>): Promise<DecryptionFailedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionFailedError);
    const e = error as DecryptionFailedError;
    expect(e.code).toBe('ERR_DECRYPT_FAILED');
    expect(e.message).toBe(DecryptionFailedError.MESSAGE);
    return e;
  }
  throw new Error('expected ERR_DECRYPT_FAILED');
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}

describe('HPKE Base mode', () => {
  it('round trips; enc is 32 bytes and the ciphertext carries a 16-byte tag', async () => {
    const recipient = await HpkeRecipient.generate();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    expect(sealed.enc).toHaveLength(32);
    expect(sealed.ciphertext).toHaveLength(CARD.length + 16);
    const opened = await recipient.open(sealed, { info: HPKE_INFO.card });
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(CARD))).toBe(true);
    expect(opened.mode).toBe('base');
    expect(opened.senderPublicKey).toBeNull();
  });

  it('sealing twice gives different enc and ciphertext (fresh ephemeral key)', async () => {
    const recipient = await HpkeRecipient.generate();
    const a = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    const b = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    expect(Buffer.from(a.enc).equals(Buffer.from(b.enc))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
  });

  it('a wrong recipient key fails with ERR_DECRYPT_FAILED, the library error kept as cause', async () => {
    const recipient = await HpkeRecipient.generate();
    const other = await HpkeRecipient.generate();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    const error = await decryptFailure(other.open(sealed, { info: HPKE_INFO.card }));
    expect(error.cause).toBeDefined();
  });

  it('tampering with enc or any part of the ciphertext fails alike', async () => {
    const recipient = await HpkeRecipient.generate();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    for (const i of [0, 15, 31]) await decryptFailure(recipient.open({ ...sealed, enc: flip(sealed.enc, i) }, { info: HPKE_INFO.card }));
    for (const i of [0, 10, CARD.length - 1, CARD.length, sealed.ciphertext.length - 1]) {
      await decryptFailure(recipient.open({ ...sealed, ciphertext: flip(sealed.ciphertext, i) }, { info: HPKE_INFO.card }));
    }
    await decryptFailure(recipient.open({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) }, { info: HPKE_INFO.card }));
    await decryptFailure(recipient.open({ ...sealed, enc: sealed.enc.subarray(0, 31) }, { info: HPKE_INFO.card }));
    await decryptFailure(recipient.open({ ...sealed, enc: new Uint8Array(32) }, { info: HPKE_INFO.card }));
  });

  it('the info string and aad are bound: a card cannot be opened as PII text, nor with other aad', async () => {
    const recipient = await HpkeRecipient.generate();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, aad: text('request-1') });
    await decryptFailure(recipient.open(sealed, { info: HPKE_INFO.piiText, aad: text('request-1') }));
    await decryptFailure(recipient.open(sealed, { info: HPKE_INFO.card, aad: text('request-2') }));
    await decryptFailure(recipient.open(sealed, { info: HPKE_INFO.card }));
    expect((await recipient.open(sealed, { info: HPKE_INFO.card, aad: text('request-1') })).mode).toBe('base');
  });
});

describe('HPKE Auth mode', () => {
  it('round trips and returns the authenticated sender key', async () => {
    const recipient = await HpkeRecipient.generate();
    const sender = await generateHpkeKeyPair();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, senderPrivateKey: sender.privateKey });
    const opened = await recipient.open(sealed, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey });
    expect(opened.mode).toBe('auth');
    expect(Buffer.from(opened.senderPublicKey!).equals(Buffer.from(sender.publicKey))).toBe(true);
    expect(opened.senderPublicKey).not.toBe(sender.publicKey); // a copy
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(CARD))).toBe(true);
  });

  it('a wrong sender key fails to open, and so does opening in the other mode', async () => {
    const recipient = await HpkeRecipient.generate();
    const sender = await generateHpkeKeyPair();
    const impostor = await generateHpkeKeyPair();
    const auth = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, senderPrivateKey: sender.privateKey });
    await decryptFailure(recipient.open(auth, { info: HPKE_INFO.card, senderPublicKey: impostor.publicKey }));
    await decryptFailure(recipient.open(auth, { info: HPKE_INFO.card })); // auth message, base open
    const base = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card });
    await decryptFailure(recipient.open(base, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey }));
    // The impostor sealing under its own key cannot pass for the sender.
    const forged = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, senderPrivateKey: impostor.privateKey });
    await decryptFailure(recipient.open(forged, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey }));
    await decryptFailure(recipient.open(auth, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey.subarray(0, 31) }));
  });

  it('does not modify or keep the sender private key it was given', async () => {
    const recipient = await HpkeRecipient.generate();
    const sender = await generateHpkeKeyPair();
    const copy = sender.privateKey.slice();
    const sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, senderPrivateKey: sender.privateKey });
    expect(Buffer.from(sender.privateKey).equals(Buffer.from(copy))).toBe(true);
    sender.privateKey.fill(0);
    expect((await recipient.open(sealed, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey })).mode).toBe('auth');
  });
});

describe('HPKE keys', () => {
  it('derives the public key from a raw private key, and a recipient from raw bytes', async () => {
    const pair = await generateHpkeKeyPair();
    expect(Buffer.from(await hpkePublicKeyOf(pair.privateKey)).equals(Buffer.from(pair.publicKey))).toBe(true);
    const recipient = await HpkeRecipient.fromPrivateKey(pair.privateKey);
    pair.privateKey.fill(0); // the recipient holds its own copy
    expect(Buffer.from(recipient.publicKey).equals(Buffer.from(pair.publicKey))).toBe(true);
    const sealed = await sealHpke(pair.publicKey, CARD, { info: HPKE_INFO.card });
    expect((await recipient.open(sealed, { info: HPKE_INFO.card })).plaintext).toHaveLength(CARD.length);
  });

  it('zeroes the private key on dispose (the X25519 key object holds the only copy)', async () => {
    const pair = await generateHpkeKeyPair();
    const key = await importPrivateKey(pair.privateKey);
    const inner = (key as unknown as { key: Uint8Array }).key;
    expect(inner.some((b) => b !== 0)).toBe(true);
    zeroPrivateKey(key);
    expect(inner.every((b) => b === 0)).toBe(true);
    const recipient = await HpkeRecipient.generate();
    recipient.dispose();
    await expect(recipient.open({ enc: new Uint8Array(32), ciphertext: new Uint8Array(32) }, { info: HPKE_INFO.card })).rejects.toThrow(/disposed/);
  });

  it('refuses wrong key sizes and unusable info strings as programming errors', async () => {
    await expect(sealHpke(new Uint8Array(31), CARD, { info: HPKE_INFO.card })).rejects.toThrow(RangeError);
    const recipient = await HpkeRecipient.generate();
    await expect(sealHpke(recipient.publicKey, CARD, { info: '' })).rejects.toThrow(RangeError);
    await expect(sealHpke(recipient.publicKey, CARD, { info: 'x'.repeat(65) })).rejects.toThrow(RangeError);
  });
});
