/**
 * Sealing to a KMS RSA key's public key, for producers that cannot call KMS (docs/api.md "Inputs
 * sealed to a KMS RSA public key"): the public key from `aws kms get-public-key` (DER or PEM
 * SubjectPublicKeyInfo) is all that is needed, no AWS credentials. The enclave asks KMS to unwrap
 * each distinct wrapped secret once (attested Decrypt, cached), so a sealer reuses one wrapped
 * secret for a batch of messages: the KMS request quota of RSA keys is shared by every enclave of
 * the account and Region. Exported by `enclavekit/client` (client/kms-rsa.ts) and used by
 * `enclavekit seal`.
 */
import { kmsRsaPublicKey, sealKmsRsaMessage, wrapKmsRsaSecret, type KmsRsaWrappedSecret } from './kms-rsa-format.js';
import { sealedInputInfo } from '../hpke/suite.js';

export interface KmsRsaTarget {
  /** `card`, `pii-text`, `pii-value` (with `field`), or a custom handler's purpose. */
  purpose: string;
  field?: string | undefined;
}

export interface KmsRsaSealerOptions {
  /** Messages per wrapped secret before a fresh one is made. Default 1000. */
  maxMessages?: number;
  /** Age of a wrapped secret before a fresh one is made, ms. Default 5 minutes (the enclave's default cache age). */
  maxAgeMs?: number;
  now?: () => number;
}

/** SHA-256 (hex) of the key's SubjectPublicKeyInfo: the enclave's `cards.rsaKey.publicKeySha256`. */
export function kmsRsaKeyId(publicKey: Uint8Array | string): string {
  return kmsRsaPublicKey(publicKey).keyId.toString('hex');
}

/** Seals many values under few wrapped secrets; call `dispose()` to zero the one it holds. */
export class KmsRsaSealer {
  readonly #key: ReturnType<typeof kmsRsaPublicKey>;
  readonly #maxMessages: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #current: { wrapped: KmsRsaWrappedSecret; madeAt: number; messages: number } | undefined;
  /** Wrapped secrets made so far (the number of KMS calls the enclave will need, at most). */
  secretsMade = 0;

  constructor(publicKey: Uint8Array | string, options: KmsRsaSealerOptions = {}) {
    this.#key = kmsRsaPublicKey(publicKey);
    this.#maxMessages = options.maxMessages ?? 1000;
    this.#maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    if (!Number.isSafeInteger(this.#maxMessages) || this.#maxMessages < 1) throw new RangeError('KmsRsaSealer: maxMessages must be a positive integer');
    if (!(this.#maxAgeMs > 0)) throw new RangeError('KmsRsaSealer: maxAgeMs must be > 0');
    this.#now = options.now ?? Date.now;
  }

  /** SHA-256 (hex) of the public key, as every sealed input carries it. */
  get keyId(): string {
    return this.#key.keyId.toString('hex');
  }

  seal(plaintext: Uint8Array | string, target: KmsRsaTarget): Uint8Array<ArrayBuffer> {
    // Names checked as for HPKE and ESDK (throws RangeError on a bad purpose or field).
    sealedInputInfo(target.purpose, target.field);
    const now = this.#now();
    let current = this.#current;
    if (current === undefined || current.messages >= this.#maxMessages || now - current.madeAt >= this.#maxAgeMs) {
      this.dispose();
      current = { wrapped: wrapKmsRsaSecret(this.#key.key, this.#key.keyId), madeAt: now, messages: 0 };
      this.#current = current;
      this.secretsMade += 1;
    }
    current.messages += 1;
    const bytes = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : plaintext;
    return sealKmsRsaMessage(current.wrapped, bytes, target.purpose, target.field);
  }

  dispose(): void {
    this.#current?.wrapped.secret.fill(0);
    this.#current = undefined;
  }
}

/** One value under a fresh wrapped secret (one KMS call in the enclave per value). */
export function sealWithKmsPublicKey(publicKey: Uint8Array | string, plaintext: Uint8Array | string, target: KmsRsaTarget): Uint8Array<ArrayBuffer> {
  const sealer = new KmsRsaSealer(publicKey, { maxMessages: 1 });
  try {
    return sealer.seal(plaintext, target);
  } finally {
    sealer.dispose();
  }
}
