/**
 * An in-memory stand-in for the three KMS calls an ESDK keyring and the enclave's ESDK openers
 * make, for in-process measurements (bench/) and fuzzing, where the HTTPS simulator's cost would
 * drown what is measured. GenerateDataKey issues a random key under an opaque random blob; Decrypt
 * answers only blobs it issued (else an InvalidCiphertextException-named error, as KMS names it),
 * with a fresh copy each time because the ESDK decryptors zero the key they are given. It has no
 * policy and no attestation: never use it where access control is what a test is about (sim/kms).
 */
import { randomBytes } from 'node:crypto';
import type { EsdkDecryptInput } from '../../enclave/sealed/esdk.js';

export interface IssuingKmsStub {
  generateDataKey(input: { KeyId: string; NumberOfBytes: number }): Promise<{ KeyId: string; Plaintext: Uint8Array; CiphertextBlob: Uint8Array }>;
  encrypt(): Promise<never>;
  decrypt(input: EsdkDecryptInput): Promise<{ KeyId: string; Plaintext: Uint8Array }>;
}

/** `keyId` answers a Decrypt that names no key. */
export function issuingKmsStub(keyId: string): IssuingKmsStub {
  const issued = new Map<string, Uint8Array>();
  return {
    async generateDataKey(input) {
      const key = randomBytes(input.NumberOfBytes);
      const blob = randomBytes(64);
      issued.set(blob.toString('hex'), new Uint8Array(key));
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(key), CiphertextBlob: new Uint8Array(blob) };
    },
    async encrypt(): Promise<never> {
      throw new Error('not used');
    },
    async decrypt(input) {
      const key = issued.get(Buffer.from(input.CiphertextBlob).toString('hex'));
      if (key === undefined) throw Object.assign(new Error('invalid ciphertext'), { name: 'InvalidCiphertextException' });
      return { KeyId: input.KeyId ?? keyId, Plaintext: Uint8Array.from(key) };
    },
  };
}
