/**
 * `enclavekit/client`: what a producer service needs to send data to an enclave.
 * - verify the enclave's attestation document (the verifier of `enclavekit/verify`);
 * - seal cards and PII values to the enclave's attested HPKE key, per operation (RFC 9180);
 * - or seal them with the AWS Encryption SDK: the KMS keyring and the encryption context of each
 *   operation.
 * The parent only carries the document; the client decides what it trusts (docs/architecture.md
 * "Trust model").
 */
export * from './verify.js';
export { sealCardForEnclave, sealForEnclave } from '../shared/hpke/client.js';
export type { CardInput, SealForEnclaveOptions } from '../shared/hpke/client.js';
export { HPKE_INFO, generateHpkeKeyPair, hpkePublicKeyOf } from '../shared/hpke/suite.js';
export type { HpkeKeyPair, HpkePurpose } from '../shared/hpke/suite.js';
export type { SealedEnvelopeJson } from '../shared/hpke/envelope.js';
export { decodeHpkeUserData } from '../shared/hpke/user-data.js';
export type { HpkeUserData } from '../shared/hpke/user-data.js';
export { ESDK_ENCRYPTION_CONTEXT, createEsdkKeyring, esdkEncryptionContext, sealCardWithEsdk, sealWithEsdk } from './esdk.js';
export type { EsdkCard, EsdkKeyringOptions, EsdkSealOptions, SealedOperation } from './esdk.js';
