/**
 * The enclave's boot-time identity: an RSA-2048 key pair for KMS `Recipient` (KMS requires an
 * RSA-2048 SubjectPublicKeyInfo in the document's public_key: aws-nitro-enclaves-sdk-c
 * docs/kms-apis/RecipientRequest.md) and an X25519 key pair that clients seal to with HPKE
 * (its public key travels in user_data, shared/hpke/user-data.ts). Both private keys exist only
 * in this process's memory and die with it.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { HpkeRecipient, encodeHpkeUserData } from '../shared/hpke/index.js';
import type { Nsm } from '../shared/nsm/types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export class EnclaveIdentity {
  readonly recipientKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the RSA key: the attestation document's public_key. */
  readonly recipientSpki: Uint8Array;
  readonly hpke: HpkeRecipient;
  /** The attestation document's user_data: the versioned HPKE public-key encoding. */
  readonly userData: Uint8Array;
  readonly #nsm: Nsm;

  private constructor(nsm: Nsm, recipientKey: KeyObject, recipientSpki: Uint8Array, hpke: HpkeRecipient) {
    this.#nsm = nsm;
    this.recipientKey = recipientKey;
    this.recipientSpki = recipientSpki;
    this.hpke = hpke;
    this.userData = encodeHpkeUserData(hpke.publicKey);
  }

  static async create(nsm: Nsm): Promise<EnclaveIdentity> {
    const [{ privateKey, publicKey }, hpke] = await Promise.all([
      generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }),
      HpkeRecipient.generate(),
    ]);
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    return new EnclaveIdentity(nsm, privateKey, spki, hpke);
  }

  /** A fresh signed attestation document binding both public keys (and the caller's nonce). */
  attest(nonce?: Uint8Array): Promise<Uint8Array> {
    return this.#nsm.attest({ publicKey: this.recipientSpki, userData: this.userData, nonce });
  }
}
