/**
 * The name of an AWS SDK exception (e.g. `ParameterNotFound`, `ThrottlingException`), or the code of
 * one of ours, fit for an error message and a log line: letters, digits and `_` only, at most 64
 * characters. The name is chosen by whoever answered (a store, KMS, or a parent relaying the
 * traffic), so nothing else of it is kept; the error's message, which may quote a value, never is.
 */
import { EnclaveKitError } from '../errors.js';

const MAX_NAME = 64;

/** The sanitized name, or `fallback` when there is none. */
export function awsErrorName(error: unknown, fallback = 'unknown error'): string {
  const raw = error instanceof EnclaveKitError ? error.code : typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
  return raw.replace(/[^A-Za-z0-9_]/g, '').slice(0, MAX_NAME) || fallback;
}
