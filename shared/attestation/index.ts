/**
 * Nitro attestation documents: parsing (structure only) and verification (chain, signature,
 * policy). docs/formats.md sections 0-3; the order of checks is documented in verify.ts.
 */
export { verifyAttestation, ATTESTATION_FUTURE_SKEW_MS } from './verify.js';
export type { VerifyOptions, VerifiedAttestation, VerifiedCertificate } from './verify.js';
export { parseAttestation, parseAttestationPayload, PAYLOAD_KEYS, PCR_BYTES } from './document.js';
export type { ParsedAttestation, AttestationPayload } from './document.js';
export { parseCoseSign1, sigStructure, COSE_SIGN1_TAG, ES384_PROTECTED_HEADER } from './cose.js';
export type { CoseSign1 } from './cose.js';
export { ChainCache, CHAIN_CACHE_DEFAULT_ENTRIES } from './chain-cache.js';
export type { ChainCacheOptions, ChainRole } from './chain-cache.js';
export { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256, pemCertificates } from './roots.js';
