/**
 * PCR arithmetic of Nitro Enclaves (docs/formats.md section 6). Z = 48 zero bytes, H = SHA-384.
 *
 * - Image measurements (PCR0/1/2/8) are `H(Z ‖ H(data))`: the EIF hashers start from a zeroed
 *   register and extend it once with the digest of the whole input
 *   (aws/aws-nitro-enclaves-image-format src/defs/eif_hasher.rs `tpm_extend_finalize_reset`).
 * - Identity measurements (PCR3 role ARN, PCR4 instance id) are `H(Z ‖ utf8(text))`: the raw
 *   string, not its digest (AWS set-up-attestation.html examples, reproduced in test/sim/pcr.test.ts).
 * - Extension by the NSM is `new = H(old ‖ data)` (docs/formats.md section 4.2).
 */
import { createHash } from 'node:crypto';

/** SHA-384 registers: 48 bytes. */
export const PCR_LENGTH = 48;

/** The value of an unused register, and of PCR0-2 in a debug-mode enclave, as hex. */
export const ZERO_PCR_HEX = '00'.repeat(PCR_LENGTH);

/** `H(register ‖ data)`: one NSM ExtendPCR step. Returns a new 48-byte array. */
export function extendPcrValue(register: Uint8Array, data: Uint8Array): Uint8Array {
  if (register.length !== PCR_LENGTH) throw new RangeError(`a PCR register is ${PCR_LENGTH} bytes`);
  return new Uint8Array(createHash('sha384').update(register).update(data).digest());
}

/** hex `H(Z ‖ H(part0 ‖ part1 ‖ …))`, without concatenating the parts in memory. */
export function pcrOfParts(parts: readonly Uint8Array[]): string {
  const inner = createHash('sha384');
  for (const part of parts) inner.update(part);
  return createHash('sha384').update(new Uint8Array(PCR_LENGTH)).update(inner.digest()).digest('hex');
}

/** hex `H(Z ‖ H(data))`: the EIF PCR0/1/2/8 formula applied to one byte string. */
export function pcrOfBytes(data: Uint8Array): string {
  return pcrOfParts([data]);
}

/** hex `H(Z ‖ utf8(text))`: PCR3 from the IAM role ARN, PCR4 from the parent instance id. */
export function pcrOfString(text: string): string {
  return createHash('sha384').update(new Uint8Array(PCR_LENGTH)).update(text, 'utf8').digest('hex');
}

/**
 * True when PCR0, PCR1 and PCR2 are all present and all zero: what a debug-mode enclave reports
 * ("PCRs that are made up entirely of zeros", AWS set-up-attestation.html). Hex of either case.
 */
export function isDebugPcrs(pcrs: Readonly<Record<number, string>>): boolean {
  return [0, 1, 2].every((index) => {
    const value = pcrs[index];
    return value !== undefined && value.length > 0 && /^0+$/.test(value);
  });
}
