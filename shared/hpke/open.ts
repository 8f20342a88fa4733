/**
 * HPKE opening for a recipient that holds an X25519 private key: the enclave (sealed inputs) or a
 * detokenize-to recipient such as a payment processor. RFC 9180 §5.1.1 (Base) and §5.1.3 (Auth).
 *
 * Every failure to open (wrong recipient key, wrong sender key, tampered enc or ciphertext, wrong
 * info or aad, malformed lengths) is the one DecryptionFailedError (docs/conventions.md item 2); the
 * library's error stays in `cause`, for local logs only.
 *
 * Opening is computed directly (open-single-shot.ts), sealing by @hpke/core (seal.ts,
 * sealAsSender below); tests hold the two to each other both ways.
 *
 * Key material: the private key is held as an @hpke/dhkem-x25519 key object whose raw bytes
 * `dispose()` overwrites (suite.ts), and as the OpenSSL key object made from it once
 * (node-x25519.ts), which the garbage collector frees. The DH outputs, shared secret, key-schedule
 * secrets and AES key of each open are Buffers zeroed before open returns.
 */
import { DecryptionFailedError } from '../errors.js';
import type { KeyObject } from 'node:crypto';
import { privateKeyObject, x25519Into, x25519PublicKey } from './node-x25519.js';
import { openSingleShot } from './open-single-shot.js';
import type { SealedMessage } from './seal.js';
import {
  generateHpkeKeyPair,
  HPKE_ENC_BYTES,
  HPKE_PRIVATE_KEY_BYTES,
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

const EMPTY = new Uint8Array(0);
/** Senders whose static DH is kept: the enclave's allowlists are far smaller. */
const SENDER_SECRETS_MAX = 256;

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
  /** DH(skR, pkS) by sender public key (hex): see #staticDh. */
  readonly #senderSecrets = new Map<string, Buffer>();

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
      const sender = options.senderPublicKey;
      if (sender !== undefined && sender.length !== HPKE_PUBLIC_KEY_BYTES) throw new Error('sender key has the wrong length');
      const skR = privateKeyObject(this.#keyPair.privateKey);
      const auth = sender === undefined ? undefined : { publicKey: sender, staticDh: this.#staticDh(skR, sender) };
      const opened = openSingleShot(skR, this.publicKey, sealed, info, options.aad ?? EMPTY, auth);
      // A copy that owns its ArrayBuffer (callers zero it whole); the Buffer is zeroed here.
      const plaintext = new Uint8Array(opened);
      opened.fill(0);
      return {
        plaintext,
        mode: sender === undefined ? 'base' : 'auth',
        senderPublicKey: sender === undefined ? null : sender.slice(),
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

  /**
   * DH(skR, pkS) of an Auth-mode sender (RFC 9180 §4.1 AuthDecap's second DH): it depends on the
   * two static keys only, so it is computed once per sender and kept, which saves one of the two
   * X25519 operations of every later open from that sender. It is secret (with it one could forge
   * that sender's messages to this recipient, as with skR itself): kept in this object only,
   * bounded, and zeroed when evicted and on dispose.
   */
  #staticDh(skR: KeyObject, sender: Uint8Array): Uint8Array {
    const id = Buffer.from(sender.buffer, sender.byteOffset, sender.byteLength).toString('hex');
    let secret = this.#senderSecrets.get(id);
    if (secret === undefined) {
      secret = Buffer.alloc(HPKE_PUBLIC_KEY_BYTES);
      x25519Into(skR, x25519PublicKey(sender), secret, 0);
      if (this.#senderSecrets.size >= SENDER_SECRETS_MAX) {
        const oldest = this.#senderSecrets.entries().next();
        if (oldest.done !== true) {
          oldest.value[1].fill(0);
          this.#senderSecrets.delete(oldest.value[0]);
        }
      }
      this.#senderSecrets.set(id, secret);
    }
    return secret;
  }

  /**
   * A copy of the raw private key, for the enclave's own worker threads (enclave/workers/pool.ts
   * transfers it to a new worker, which imports it and zeroes it): the caller zeroes it.
   */
  exportPrivateKey(): Uint8Array {
    if (this.#keyPair === null) throw new Error('HpkeRecipient has been disposed');
    const raw = (this.#keyPair.privateKey as unknown as { key?: unknown }).key;
    if (!(raw instanceof Uint8Array) || raw.length !== HPKE_PRIVATE_KEY_BYTES) throw new TypeError('not an X25519 key of @hpke');
    return raw.slice();
  }

  /** Overwrites the private key bytes; the recipient cannot open anything afterwards. */
  dispose(): void {
    if (this.#keyPair === null) return;
    for (const secret of this.#senderSecrets.values()) secret.fill(0);
    this.#senderSecrets.clear();
    zeroPrivateKey(this.#keyPair.privateKey);
    this.#keyPair = null;
  }
}
