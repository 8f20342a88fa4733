/**
 * A key given as bytes, made a secret KeyObject for one createCipheriv / createDecipheriv.
 *
 * Why: given the bytes themselves, Node 24's cipher constructors spend ~10 µs preparing them (a CPU
 * profile puts the time in node:internal/crypto/keys, prepareSecretKey's isKeyObject and
 * isCryptoKey checks), three times the AES-256-GCM work on a card; createSecretKey takes ~1 µs and
 * a cipher from the KeyObject ~4 µs. Measured on the 2-core bench machine, µs per AES-256-GCM
 * decryption of 120 bytes: Node 24.21 bytes 14.5, KeyObject 0.9 + 3.8; Node 20.20 bytes 2.9,
 * KeyObject 1.3 + 3.4 (`npm run bench -- hpke`: "AES-256-GCM open (card)" and "..., key as bytes").
 *
 * Used where a cipher is made per message: HPKE's and an ESDK record's derived keys and a
 * CiphertextForRecipient content key (each made for one message), and a kmsRsa input's encryption
 * key (half of a secret the data-key cache keeps for many messages). Key material: createSecretKey
 * copies the bytes into memory that Node clears when the KeyObject is collected (its ByteSource
 * frees with OPENSSL_clear_free), as the cipher's own key schedule already was; so each cipher's
 * copy, like its key schedule, lives until the next collection, also past the cache's zeroing of a
 * kmsRsa secret. The caller still zeroes its own bytes as soon as it is done with them.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

export function cipherKey(bytes: Uint8Array): KeyObject {
  return createSecretKey(bytes);
}
