/**
 * The outcome of a promise as the tests compare it: 'ok', or the stable code of the EnclaveKitError
 * it rejected with. Any other rejection is rethrown: an untyped failure is a bug, not a verdict.
 */
import { EnclaveKitError } from '../../shared/errors.js';

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EnclaveKitError) return error.code;
    throw error;
  }
  return 'ok';
}
