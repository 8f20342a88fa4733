/**
 * Measuring a simulated enclave the way nitro-cli measures an EIF (docs/formats.md section 6):
 *
 *   PCR0 = H(Z ‖ H(kernel ‖ cmdline ‖ ramdisk_0 ‖ ramdisk_1 … ))   the whole image
 *   PCR1 = H(Z ‖ H(kernel ‖ cmdline ‖ ramdisk_0))                  kernel + bootstrap
 *   PCR2 = H(Z ‖ H(ramdisk_1 …))                                   the application
 *   PCR3 = H(Z ‖ utf8(IAM role ARN))   PCR4 = H(Z ‖ utf8(instance id))
 *   PCR8 = H(Z ‖ H(DER of the image signing certificate))
 *
 * The simulated image has one application "ramdisk": the enclave bundle the process actually
 * runs. The kernel, cmdline and bootstrap ramdisk are fixed bytes defined below (there is no
 * kernel in a simulated enclave), so PCR1 is a constant and a change to the bundle changes
 * PCR0 and PCR2 only, as on Nitro. Debug mode reports PCR0-2 as zeros, as real debug enclaves do.
 */
import { ZERO_PCR_HEX, pcrOfBytes, pcrOfParts, pcrOfString } from '../../shared/pcr.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * The simulated boot image: the one place these bytes are defined. Changing any of them changes
 * every simulated PCR0 and PCR1, and therefore every policy pinned to them.
 */
export const SIMULATED_BOOT_IMAGE = Object.freeze({
  kernel: utf8('enclavekit simulated Nitro Enclaves kernel, format 1 (no kernel runs in a simulated enclave)\n'),
  /** The cmdline of AWS's published enclave blobs (aws-nitro-enclaves-cli blobs/*), no trailing NUL. */
  cmdline: utf8(
    'reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd random.trust_cpu=on',
  ),
  bootstrapRamdisk: utf8('enclavekit simulated bootstrap initramfs (init, nsm driver), format 1\n'),
});

export interface MeasureEnclaveInput {
  /** The exact bytes of the enclave application bundle (the customer ramdisk of a real EIF). */
  appBundle: Uint8Array;
  /** IAM role ARN of the parent instance; PCR3 is zero without one (nsm-check.rs). */
  roleArn?: string | undefined;
  /** Parent instance id, `i-…`; PCR4 is zero without one (a real NSM always has one). */
  instanceId?: string | undefined;
  /** DER of the certificate that signed the image; PCR8 is only reported for signed images. */
  signingCertDer?: Uint8Array | undefined;
  /** Debug-mode enclave: PCR0, PCR1 and PCR2 are all zero. */
  debug?: boolean | undefined;
}

/** PCR0-4 (and PCR8 for a signed image) as lower-case hex, keyed by index. */
export function measureEnclave(input: MeasureEnclaveInput): Record<number, string> {
  const { kernel, cmdline, bootstrapRamdisk } = SIMULATED_BOOT_IMAGE;
  const debug = input.debug === true;
  const pcrs: Record<number, string> = {
    0: debug ? ZERO_PCR_HEX : pcrOfParts([kernel, cmdline, bootstrapRamdisk, input.appBundle]),
    1: debug ? ZERO_PCR_HEX : pcrOfParts([kernel, cmdline, bootstrapRamdisk]),
    2: debug ? ZERO_PCR_HEX : pcrOfBytes(input.appBundle),
    3: input.roleArn === undefined ? ZERO_PCR_HEX : pcrOfString(input.roleArn),
    4: input.instanceId === undefined ? ZERO_PCR_HEX : pcrOfString(input.instanceId),
  };
  if (input.signingCertDer !== undefined) pcrs[8] = pcrOfBytes(input.signingCertDer);
  return pcrs;
}
