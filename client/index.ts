/**
 * `enclavekit/client`: what a producer service needs to send data to an enclave.
 * - verify the enclave's attestation document (the verifier of `enclavekit/verify`);
 * - open a detokenize-to answer after checking that the enclave's attested key sent it (with the
 *   recipient's own key as an HpkeRecipient);
 * - seal cards and PII values to the enclave's attested HPKE key, per operation (RFC 9180);
 * - or seal them with the AWS Encryption SDK: the KMS keyring and the encryption context of each
 *   operation;
 * - or seal them offline to a KMS RSA key's public key (no AWS credentials).
 * The parent only carries the document; the client decides what it trusts (docs/architecture.md
 * "Trust model").
 */
export * from './verify.js';
export { sealCardForEnclave, sealForEnclave } from '../shared/hpke/client.js';
export type { CardInput, SealForEnclaveOptions, SealTarget } from '../shared/hpke/client.js';
export { openDetokenized } from '../shared/hpke/detokenized.js';
export { HpkeRecipient } from '../shared/hpke/open.js';
export type { DetokenizeToAnswer, OpenDetokenizedOptions } from '../shared/hpke/detokenized.js';
export { HPKE_INFO, SEALED_PURPOSES, generateHpkeKeyPair, hpkePublicKeyOf, sealedInputInfo } from '../shared/hpke/suite.js';
export type { HpkeKeyPair, SealedPurpose } from '../shared/hpke/suite.js';
export type { SealedEnvelopeJson } from '../shared/hpke/envelope.js';
export { decodeHpkeUserData } from '../shared/hpke/user-data.js';
export type { HpkeUserData } from '../shared/hpke/user-data.js';
export { ESDK_PURPOSE, createEsdkKeyring, esdkEncryptionContext, sealCardWithEsdk, sealWithEsdk } from './esdk.js';
export type { EsdkCard, EsdkKeyringOptions, EsdkSealOptions, SealedOperation } from './esdk.js';
export { KmsRsaSealer, kmsRsaKeyId, sealWithKmsPublicKey } from './kms-rsa.js';
export type { KmsRsaSealerOptions, KmsRsaTarget } from './kms-rsa.js';
