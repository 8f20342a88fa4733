/**
 * Sealing offline to a KMS RSA key's public key (docs/api.md "Inputs sealed to a KMS RSA public
 * key"), for `enclavekit/client`. The code lives in shared/ because `enclavekit seal` uses it too
 * and the CLI bundle is built from shared/ (as the HPKE helpers are).
 */
export { KmsRsaSealer, kmsRsaKeyId, sealWithKmsPublicKey } from '../shared/sealed/kms-rsa-sealer.js';
export type { KmsRsaSealerOptions, KmsRsaTarget } from '../shared/sealed/kms-rsa-sealer.js';
