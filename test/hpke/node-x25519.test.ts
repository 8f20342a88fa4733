/**
 * The X25519 arithmetic by Node's OpenSSL (shared/hpke/node-x25519.ts) against @hpke/dhkem-x25519's
 * own (@noble/curves): the same shared secrets and public keys, interoperable HPKE messages both
 * ways, and low-order public keys refused (RFC 9180 §7.1.4; RFC 7748 §6.1's all-zero check).
 */
import fc from 'fast-check';
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256, HkdfSha256 as HkdfSha256X25519, X25519 } from '@hpke/dhkem-x25519';
import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { NodeX25519 } from '../../shared/hpke/node-x25519.js';
import { generateHpkeKeyPair, HPKE_INFO, hpkePublicKeyOf } from '../../shared/hpke/suite.js';

const noble = new X25519(new HkdfSha256X25519());
const node = new NodeX25519(new HkdfSha256X25519());
const nobleSuite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const hex = (buffer: ArrayBuffer | Uint8Array): string => Buffer.from(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer)).toString('hex');

// Low-order points of Curve25519 (RFC 7748 §6.1 discussion; the list libsodium refuses).
const LOW_ORDER = ['0000000000000000000000000000000000000000000000000000000000000000', '0100000000000000000000000000000000000000000000000000000000000000', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'];

describe('X25519 by OpenSSL', () => {
  it('computes the same public keys and shared secrets as @noble/curves', async () => {
    await fc.assert(
      fc.asyncProperty(bytes32, bytes32, async (a, b) => {
        const [skA, skB] = [await node.deserializePrivateKey(a.slice().buffer), await node.deserializePrivateKey(b.slice().buffer)];
        const pkB = await noble.derivePublicKey(skB);
        expect(hex(await node.serializePublicKey(await node.derivePublicKey(skB)))).toBe(hex(await noble.serializePublicKey(pkB)));
        expect(hex(await node.dh(skA, pkB))).toBe(hex(await noble.dh(skA, pkB)));
      }),
      { seed: 42, numRuns: 40 },
    );
  });

  it('refuses low-order public keys', async () => {
    const sk = await node.deserializePrivateKey(new Uint8Array(32).fill(7).buffer);
    for (const point of LOW_ORDER) {
      const pk = await node.deserializePublicKey(new Uint8Array(Buffer.from(point, 'hex')).buffer);
      await expect(node.dh(sk, pk)).rejects.toThrow();
    }
  });

  it('an enclave opens what the noble suite sealed (Auth mode), and noble opens what ours sealed', async () => {
    const recipient = await HpkeRecipient.generate();
    const sender = await generateHpkeKeyPair();
    const plaintext = new TextEncoder().encode('{"pan":"4111111111111111","exp":"12/30"}');
    const info = new TextEncoder().encode(HPKE_INFO.card);

    const nobleSender = await nobleSuite.kem.deserializePrivateKey(sender.privateKey.slice().buffer);
    const recipientKey = await nobleSuite.kem.deserializePublicKey(recipient.publicKey.slice().buffer);
    const ctx = await nobleSuite.createSenderContext({ recipientPublicKey: recipientKey, senderKey: nobleSender, info });
    const ciphertext = new Uint8Array(await ctx.seal(plaintext.slice().buffer));
    const opened = await recipient.open({ enc: new Uint8Array(ctx.enc), ciphertext }, { info: HPKE_INFO.card, senderPublicKey: sender.publicKey });
    expect(hex(opened.plaintext)).toBe(hex(plaintext));

    const nobleRecipient = await nobleSuite.kem.generateKeyPair();
    const nobleRecipientPublic = new Uint8Array(await nobleSuite.kem.serializePublicKey(nobleRecipient.publicKey));
    const sealed = await sealHpke(nobleRecipientPublic, plaintext, { info: HPKE_INFO.card, senderPrivateKey: sender.privateKey });
    const senderPublic = await nobleSuite.kem.deserializePublicKey(sender.publicKey.slice().buffer);
    const opener = await nobleSuite.createRecipientContext({ recipientKey: nobleRecipient, enc: sealed.enc.slice().buffer, info, senderPublicKey: senderPublic });
    expect(hex(await opener.open(sealed.ciphertext.slice().buffer))).toBe(hex(plaintext));
    expect(hex(await hpkePublicKeyOf(sender.privateKey))).toBe(hex(sender.publicKey));
  });

  it('a low-order enc is ERR_DECRYPT_FAILED, not a crash', async () => {
    const recipient = await HpkeRecipient.generate();
    for (const point of LOW_ORDER) {
      const sealed = { enc: new Uint8Array(Buffer.from(point, 'hex')), ciphertext: new Uint8Array(48) };
      await expect(recipient.open(sealed, { info: HPKE_INFO.card })).rejects.toBeInstanceOf(DecryptionFailedError);
    }
  });
});
