/**
 * The HPKE primitives on Node's crypto (shared/hpke/node-x25519.ts, node-kdf-aead.ts) against
 * @hpke's own (@noble/curves X25519, WebCrypto HKDF and AES-GCM): the same shared secrets and
 * public keys, RFC 5869 test vectors, interoperable HPKE messages both ways, low-order public keys
 * refused (RFC 9180 §7.1.4; RFC 7748 §6.1's all-zero check), tampered ciphertexts refused.
 */
import { createPrivateKey, diffieHellman } from 'node:crypto';
import fc from 'fast-check';
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256, HkdfSha256 as HkdfSha256X25519, X25519 } from '@hpke/dhkem-x25519';
import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { NodeAes256Gcm, NodeHkdfSha256 } from '../../shared/hpke/node-kdf-aead.js';
import { NodeX25519, x25519Into, x25519PublicKey } from '../../shared/hpke/node-x25519.js';
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

  it('imports a raw public key as JWK and as SPKI PEM to the same key, whatever its bytes', async () => {
    const sk = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.alloc(32, 7)]), format: 'der', type: 'pkcs8' });
    // Random points, the low-order ones, and u-coordinates at and over the field prime (RFC 7748 §5:
    // the top bit is masked, non-canonical values accepted).
    const edges = [...LOW_ORDER, 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'].map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    const agree = (raw: Uint8Array): void => {
      const [jwk, pem] = [x25519PublicKey(raw, 'jwk'), x25519PublicKey(raw, 'pem')];
      expect(pem.export({ format: 'jwk' })).toEqual(jwk.export({ format: 'jwk' }));
      const outcome = (key: typeof jwk): string => {
        try {
          return hex(diffieHellman({ privateKey: sk, publicKey: key }));
        } catch {
          return 'refused';
        }
      };
      expect(outcome(pem)).toBe(outcome(jwk));
    };
    for (const raw of edges) agree(raw);
    fc.assert(fc.property(bytes32, (raw) => agree(raw)), { seed: 42, numRuns: 200 });
    for (const form of ['jwk', 'pem'] as const) {
      expect(() => x25519PublicKey(new Uint8Array(31), form)).toThrow(RangeError);
      // The all-zero output of a low-order point is refused on either form.
      expect(() => x25519Into(sk, x25519PublicKey(edges[0]!, form), new Uint8Array(32), 0)).toThrow();
    }
  });

  it('a low-order enc is ERR_DECRYPT_FAILED, not a crash', async () => {
    const recipient = await HpkeRecipient.generate();
    for (const point of LOW_ORDER) {
      const sealed = { enc: new Uint8Array(Buffer.from(point, 'hex')), ciphertext: new Uint8Array(48) };
      await expect(recipient.open(sealed, { info: HPKE_INFO.card })).rejects.toBeInstanceOf(DecryptionFailedError);
    }
  });
});

describe('HKDF-SHA256 and AES-256-GCM on Node crypto', () => {
  const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
  // RFC 5869 Appendix A.1 (basic) and A.3 (zero-length salt and info).
  const CASES = [
    {
      ikm: '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b',
      salt: '000102030405060708090a0b0c',
      info: 'f0f1f2f3f4f5f6f7f8f9',
      len: 42,
      prk: '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
      okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    },
    {
      ikm: '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b',
      salt: '',
      info: '',
      len: 42,
      prk: '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
      okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    },
  ];

  it('matches RFC 5869 test cases 1 and 3', async () => {
    const kdf = new NodeHkdfSha256();
    for (const c of CASES) {
      const prk = await kdf.extract(fromHex(c.salt), fromHex(c.ikm));
      expect(hex(prk)).toBe(c.prk);
      expect(hex(await kdf.expand(prk, fromHex(c.info), c.len))).toBe(c.okm);
      expect(hex(await kdf.extractAndExpand(fromHex(c.salt), fromHex(c.ikm), fromHex(c.info), c.len))).toBe(c.okm);
    }
  });

  it('AES-256-GCM: agrees with @hpke (WebCrypto) both ways; a flipped byte or short input is refused', async () => {
    const key = new Uint8Array(32).fill(9);
    const iv = new Uint8Array(12).fill(3);
    const aad = new TextEncoder().encode('aad');
    const plaintext = new TextEncoder().encode('{"pan":"4111111111111111"}');
    const ours = new NodeAes256Gcm().createEncryptionContext(key.slice());
    const theirs = new Aes256Gcm().createEncryptionContext(key.slice());
    const sealed = new Uint8Array(await ours.seal(iv, plaintext, aad));
    expect(hex(await theirs.open(iv, sealed, aad))).toBe(hex(plaintext));
    expect(hex(await ours.open(iv, await theirs.seal(iv, plaintext, aad), aad))).toBe(hex(plaintext));
    for (const index of [0, sealed.length - 1]) {
      const tampered = sealed.slice();
      tampered[index]! ^= 1;
      await expect(ours.open(iv, tampered, aad)).rejects.toThrow();
    }
    await expect(ours.open(iv, sealed, new Uint8Array(0))).rejects.toThrow();
    await expect(ours.open(iv, sealed.subarray(0, 15), aad)).rejects.toThrow();
  });
});
