/**
 * Maps what the AWS SDK throws into the enclave's error family. KMS exception names come from the
 * service model (docs/formats.md 5.5); anything without a KMS name is a transport failure.
 */
import { DecryptionFailedError, EnclaveKitError, ServiceError } from '../../shared/errors.js';
import { awsErrorName } from '../../shared/aws/error-name.js';

/** KMS says the ciphertext (an encrypted data key from a sealed record) is not openable. */
const CIPHERTEXT_REJECTIONS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const UNAVAILABLE = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
]);

export function mapKmsError(error: unknown, operation: string): EnclaveKitError {
  if (error instanceof EnclaveKitError) return error;
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
  const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code ?? '') : '';
  if (CIPHERTEXT_REJECTIONS.has(name)) return new DecryptionFailedError({ cause: error });
  if (name === 'AccessDeniedException') {
    return new ServiceError('ERR_KMS_ACCESS_DENIED', `KMS denied ${operation} (key policy or attestation)`, { cause: error });
  }
  if (name === 'ThrottlingException') return new ServiceError('ERR_KMS_THROTTLED', `KMS throttled ${operation}`, { cause: error });
  if (UNAVAILABLE.has(name) || UNAVAILABLE.has(code) || name === '' || name === 'Error') {
    return new ServiceError('ERR_KMS_UNAVAILABLE', `KMS unavailable for ${operation}`, { cause: error });
  }
  // A KMS exception name is not secret and helps operators: keep it in the message.
  return new ServiceError('ERR_KMS_REJECTED', `KMS rejected ${operation}: ${awsErrorName(error)}`, { cause: error });
}
