/**
 * The real Nitro attestation documents of test/vectors/attestation (origins in its README
 * and docs/formats.md section 3), for structure comparisons with simulated documents. One loader for
 * them lives in test/attestation/helpers.ts; these are its names as the simulator tests use them.
 */
import { EXPECTED, VECTOR_DIR, loadDoc, type ExpectedVector } from '../attestation/helpers.js';

export const ATTESTATION_VECTORS = VECTOR_DIR;
export type ExpectedDoc = ExpectedVector;

export function expectedDocs(): ExpectedDoc[] {
  return [...EXPECTED];
}

export const realDoc = loadDoc;
