/**
 * HPKE opening for a recipient that holds an X25519 private key: the enclave (sealed inputs) or a
 * detokenize-to recipient such as a payment processor. RFC 9180 §5.1.1 (Base) and §5.1.3 (Auth).
 *
 * Every failure to open (wrong recipient key, wrong sender key, tampered enc or ciphertext, wrong
 * info or aad, malformed lengths) is the one DecryptionFailedError (docs/conventions.md item 2); the
 * library's error stays in `cause`, for local logs only.
 *
 * Key material: the private key is held as an @hpke/dhkem-x25519 key object whose raw bytes
 * `dispose()` overwrites (suite.ts). What cannot be zeroed: the DH outputs, shared secret and
 * key-schedule intermediates inside @hpke/core (ArrayBuffers it allocates and drops), and the
 * AES-GCM key it imports as a WebCrypto HpkeKey (OpenSSL memory, freed by the garbage collector).
 */
import { DecryptionFailedError } from '../errors.js';
import type { SealedMessage } from './seal.js';
import {
  generateHpkeKeyPair,
  HPKE_ENC_BYTES,
  HPKE_PUBLIC_KEY_BYTES,
  HPKE_TAG_BYTES,
  hpkePublicKeyOf,
  hpkeSuite,
  type HpkeKey,
  importPrivateKey,
  importPublicKey,
  infoBytes,
  zeroPrivateKey,
} from './suite.js';

export interface OpenOptions {
  info: string;
  aad?: Uint8Array;
  /** Opens in Auth mode: the message must have been sealed with this sender's private key. */
  senderPublicKey?: Uint8Array;
}

export interface OpenedMessage {
  plaintext: Uint8Array;
  mode: 'base' | 'auth';
  /** Auth mode: the sender key the message authenticated (a copy); Base mode: null. */
  senderPublicKey: Uint8Array | null;
}

export class HpkeRecipient {
  readonly publicKey: Uint8Array;
  /** Passed to @hpke as a key pair so decapsulation need not recompute pkR (one X25519 op less). */
  #keyPair: { privateKey: HpkeKey; publicKey: HpkeKey } | null;

  private constructor(keyPair: { privateKey: HpkeKey; publicKey: HpkeKey }, publicKey: Uint8Array) {
    this.#keyPair = keyPair;
    this.publicKey = publicKey;
  }

  /** A fresh key pair (the enclave does this at boot). */
  static async generate(): Promise<HpkeRecipient> {
    const pair = await generateHpkeKeyPair();
    try {
      return await HpkeRecipient.fromPrivateKey(pair.privateKey);
    } finally {
      pair.privateKey.fill(0);
    }
  }

  /** From raw private key bytes, which are copied (the caller zeroes its own buffer). */
  static async fromPrivateKey(raw: Uint8Array): Promise<HpkeRecipient> {
    const publicKey = await hpkePublicKeyOf(raw);
    const keyPair = { privateKey: await importPrivateKey(raw), publicKey: await importPublicKey(publicKey) };
    return new HpkeRecipient(keyPair, publicKey);
  }

  async open(sealed: SealedMessage, options: OpenOptions): Promise<OpenedMessage> {
    if (this.#keyPair === null) throw new Error('HpkeRecipient has been disposed');
    const info = infoBytes(options.info);
    try {
      if (sealed.enc.length !== HPKE_ENC_BYTES) throw new Error('enc has the wrong length');
      if (sealed.ciphertext.length < HPKE_TAG_BYTES) throw new Error('ciphertext shorter than the tag');
      let sender: HpkeKey | undefined;
      if (options.senderPublicKey !== undefined) {
        if (options.senderPublicKey.length !== HPKE_PUBLIC_KEY_BYTES) throw new Error('sender key has the wrong length');
        sender = await importPublicKey(options.senderPublicKey);
      }
      const plaintext = await hpkeSuite().open(
        { recipientKey: this.#keyPair, enc: sealed.enc, info, ...(sender === undefined ? {} : { senderPublicKey: sender }) },
        sealed.ciphertext,
        options.aad ?? new Uint8Array(0),
      );
      return {
        plaintext: new Uint8Array(plaintext),
        mode: sender === undefined ? 'base' : 'auth',
        senderPublicKey: options.senderPublicKey === undefined ? null : options.senderPublicKey.slice(),
      };
    } catch (error) {
      throw new DecryptionFailedError({ cause: error });
    }
  }

  /**
   * Seals to `recipientPublicKey` in Auth mode (RFC 9180 §5.1.3) with this key pair as the sender,
   * so the recipient can tell the message came from the holder of this private key: the enclave
   * authenticates what it sends out with the key its attestation document carries. The two roles
   * do not mix: the key schedule's kem_context orders pkR before pkS, and the enclave uses its own
   * `info` for what it sends (HPKE_INFO.detokenize), which no input may use (sealedInputInfo).
   */
  async sealAsSender(recipientPublicKey: Uint8Array, plaintext: Uint8Array, options: { info: string; aad?: Uint8Array }): Promise<SealedMessage> {
    if (this.#keyPair === null) throw new Error('HpkeRecipient has been disposed');
    const recipient = await importPublicKey(recipientPublicKey);
    const sealed = await hpkeSuite().seal(
      { recipientPublicKey: recipient, senderKey: this.#keyPair, info: infoBytes(options.info) },
      plaintext,
      options.aad ?? new Uint8Array(0),
    );
    return { enc: new Uint8Array(sealed.enc), ciphertext: new Uint8Array(sealed.ct) };
  }

  /** Overwrites the private key bytes; the recipient cannot open anything afterwards. */
  dispose(): void {
    if (this.#keyPair === null) return;
    zeroPrivateKey(this.#keyPair.privateKey);
    this.#keyPair = null;
  }
}
