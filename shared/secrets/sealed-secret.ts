/**
 * The sealed-secret format (docs/secrets.md "Sealed secrets in the enclave"): a parameter or secret
 * whose stored value is the base64 of a KMS `Encrypt` CiphertextBlob under the enclave's internal
 * key, with the encryption context below. The store never holds the plaintext, and the parent,
 * which can read the store, cannot decrypt it: the key policy lets only an attested enclave
 * Decrypt. The context binds the ciphertext to its store and name, so someone who may write to the
 * store cannot move one secret's ciphertext into another's slot (KMS refuses a Decrypt whose
 * context differs: AWS KMS Developer Guide, "Encryption context").
 */

export const SECRET_STORES = ['ssm', 'secretsmanager'] as const;
export type SecretStoreName = (typeof SECRET_STORES)[number];

/** KMS Encrypt takes at most 4096 bytes of plaintext (AWS KMS API Reference, Encrypt, Plaintext). */
export const MAX_SECRET_BYTES = 4096;

/** SSM Standard parameters hold at most 4096 characters, Advanced 8192 ("Managing parameter tiers"). */
export const SSM_STANDARD_VALUE_MAX = 4096;

/**
 * The name prefixes the parent role may read (deploy/iam/parent-instance-role-policy.json:
 * parameter/enclavekit/* and secret:enclavekit/*). An SSM parameter ARN is `parameter` + the name
 * (with a `/` added when the name has none), so `/enclavekit/x` is the readable SSM form.
 */
export const READABLE_SECRET_PREFIX: Record<SecretStoreName, string> = { ssm: '/enclavekit/', secretsmanager: 'enclavekit/' };

/** The exact encryption context of a sealed secret named `name` in `store`. */
export function secretEncryptionContext(store: SecretStoreName, name: string): Record<string, string> {
  return { purpose: 'secret', store, name };
}
