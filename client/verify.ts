/**
 * `enclavekit/verify`: the attestation verifier alone (docs/formats.md 1.4). Pure: the time, the
 * trusted roots and the expected PCRs are parameters (docs/conventions.md item 3). It uses
 * `node:crypto` for ECDSA P-384 and SHA-384; nothing else outside the package's own code.
 */
export { verifyAttestation, ATTESTATION_FUTURE_SKEW_MS } from '../shared/attestation/verify.js';
export type { VerifyOptions, VerifiedAttestation, VerifiedCertificate } from '../shared/attestation/verify.js';
export { parseAttestation } from '../shared/attestation/document.js';
export type { ParsedAttestation, AttestationPayload } from '../shared/attestation/document.js';
export { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256, pemCertificates } from '../shared/attestation/roots.js';
export { EnclaveKitError, AttestationError, ERROR_CODES } from '../shared/errors.js';
export type { ErrorCode, AttestationErrorCode } from '../shared/errors.js';
