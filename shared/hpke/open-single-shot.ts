/**
 * RFC 9180 single-shot open (§6.1 OpenBase/OpenAuth, sequence number 0) for the one suite of
 * suite.ts, computed straight on Node's synchronous primitives: two X25519 (one in Base mode), the
 * DHKEM's ExtractAndExpand (§4.1), the key schedule (§5.1) and one AES-256-GCM decryption.
 *
 * Why not @hpke/core's open: its generic path costs about as much again as the primitives (per
 * open: key objects and promise chains for each step, psk_id_hash and info_hash recomputed,
 * exporter_secret derived though never used, an AEAD context object, ArrayBuffer copies at every
 * interface). Here psk_id_hash is a constant, info_hash is kept per `info` string (a handful of
 * purposes), exporter_secret is not derived (single-shot open does not export), and in Auth mode
 * the static-static DH(skR, pkS) is the caller's (open.ts keeps it per sender).
 *
 * Every intermediate secret this module derives (DH outputs, eae_prk, shared_secret, secret, key, base_nonce) is a
 * Buffer this module owns and zeroes before returning, failure or not.
 */
import type { KeyObject } from 'node:crypto';
import { aes256GcmOpen, hkdfExpand, hkdfExtract } from './node-kdf-aead.js';
import { x25519Into, x25519PublicKey } from './node-x25519.js';
import { HPKE_AEAD_ID, HPKE_KDF_ID, HPKE_KEM_ID } from './suite.js';
import type { SealedMessage } from './seal.js';

const VERSION = Buffer.from('HPKE-v1');
const I2OSP2 = (n: number): Uint8Array => Uint8Array.of((n >> 8) & 0xff, n & 0xff);
// §4.1: suite_id of the KEM; §5.1: suite_id of the whole suite.
const KEM_SUITE_ID = Buffer.concat([Buffer.from('KEM'), I2OSP2(HPKE_KEM_ID)]);
const HPKE_SUITE_ID = Buffer.concat([Buffer.from('HPKE'), I2OSP2(HPKE_KEM_ID), I2OSP2(HPKE_KDF_ID), I2OSP2(HPKE_AEAD_ID)]);
const MODE_BASE = 0x00;
const MODE_AUTH = 0x02;
const N_SECRET = 32;
const N_K = 32;
const N_N = 12;
const DH_BYTES = 32;
const EMPTY = new Uint8Array(0);

const label = (text: string): Buffer => Buffer.from(text, 'ascii');
const EAE_PRK = label('eae_prk');
const SHARED_SECRET = label('shared_secret');
const PSK_ID_HASH = label('psk_id_hash');
const INFO_HASH = label('info_hash');
const SECRET = label('secret');
const KEY = label('key');
const BASE_NONCE = label('base_nonce');

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm) (§4). */
function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, name: Uint8Array, ikm: Uint8Array): Buffer {
  return hkdfExtract(salt, [VERSION, suiteId, name, ikm]);
}

/** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L) (§4). */
function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, name: Uint8Array, info: Uint8Array, length: number): Buffer {
  return hkdfExpand(prk, [I2OSP2(length), VERSION, suiteId, name, info], length);
}

// psk_id is empty in Base and Auth modes (§5.1.1, §5.1.3): its hash is a constant.
const PSK_ID_HASH_VALUE = labeledExtract(HPKE_SUITE_ID, EMPTY, PSK_ID_HASH, EMPTY);

/** info_hash by info string (not secret); bounded, as callers use a few fixed purposes. */
const infoHashes = new Map<string, Buffer>();
const INFO_HASHES_MAX = 256;

function infoHash(info: Uint8Array): Buffer {
  const key = Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString('latin1');
  let hashed = infoHashes.get(key);
  if (hashed === undefined) {
    hashed = labeledExtract(HPKE_SUITE_ID, EMPTY, INFO_HASH, info);
    if (infoHashes.size >= INFO_HASHES_MAX) infoHashes.clear();
    infoHashes.set(key, hashed);
  }
  return hashed;
}

/** Auth mode: the sender's public key and DH(skR, pkS), which depends on no message (see open.ts). */
export interface AuthSender {
  publicKey: Uint8Array;
  staticDh: Uint8Array;
}

/**
 * Opens `sealed` for the recipient (skR as an OpenSSL key, pkR raw); Auth mode when `sender` is
 * given. Throws on any failure (the caller maps it to its one error); returns the plaintext.
 */
export function openSingleShot(skR: KeyObject, pkR: Uint8Array, sealed: SealedMessage, info: Uint8Array, aad: Uint8Array, sender?: AuthSender): Buffer {
  const auth = sender !== undefined;
  const dh = Buffer.alloc(auth ? 2 * DH_BYTES : DH_BYTES);
  let eaePrk: Buffer | undefined;
  let sharedSecret: Buffer | undefined;
  let secret: Buffer | undefined;
  let key: Buffer | undefined;
  let nonce: Buffer | undefined;
  try {
    // §4.1 Decap / AuthDecap: dh = DH(skR, pkE) [‖ DH(skR, pkS)]; kem_context = enc ‖ pkRm [‖ pkSm].
    x25519Into(skR, x25519PublicKey(sealed.enc), dh, 0);
    if (auth) {
      if (sender.staticDh.length !== DH_BYTES) throw new Error('static DH has the wrong length');
      dh.set(sender.staticDh, DH_BYTES);
    }
    const kemContext = auth ? Buffer.concat([sealed.enc, pkR, sender.publicKey]) : Buffer.concat([sealed.enc, pkR]);
    eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, EAE_PRK, dh);
    sharedSecret = labeledExpand(KEM_SUITE_ID, eaePrk, SHARED_SECRET, kemContext, N_SECRET);

    // §5.1 KeySchedule with psk = psk_id = "".
    const context = Buffer.concat([Uint8Array.of(auth ? MODE_AUTH : MODE_BASE), PSK_ID_HASH_VALUE, infoHash(info)]);
    secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, SECRET, EMPTY);
    key = labeledExpand(HPKE_SUITE_ID, secret, KEY, context, N_K);
    nonce = labeledExpand(HPKE_SUITE_ID, secret, BASE_NONCE, context, N_N);

    // §5.2: the first message's nonce is base_nonce XOR I2OSP(0, Nn) = base_nonce.
    return aes256GcmOpen(key, nonce, sealed.ciphertext, aad);
  } finally {
    dh.fill(0);
    eaePrk?.fill(0);
    sharedSecret?.fill(0);
    secret?.fill(0);
    key?.fill(0);
    nonce?.fill(0);
  }
}
