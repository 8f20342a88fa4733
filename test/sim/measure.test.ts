import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_PCR_HEX, pcrOfBytes, pcrOfParts, pcrOfString } from '../../shared/pcr.js';
import { SIMULATED_BOOT_IMAGE, measureEnclave } from '../../sim/nsm/measure.js';

const bundle = new TextEncoder().encode('console.log("enclave app v1");\n'.repeat(50));

describe('measureEnclave', () => {
  it('computes PCR0/1/2 with the EIF formulas over the simulated boot image and the bundle', () => {
    const { kernel, cmdline, bootstrapRamdisk } = SIMULATED_BOOT_IMAGE;
    const pcrs = measureEnclave({ appBundle: bundle });
    expect(pcrs[0]).toBe(pcrOfParts([kernel, cmdline, bootstrapRamdisk, bundle]));
    expect(pcrs[1]).toBe(pcrOfParts([kernel, cmdline, bootstrapRamdisk]));
    expect(pcrs[2]).toBe(pcrOfBytes(bundle));
    expect(pcrs[3]).toBe(ZERO_PCR_HEX);
    expect(pcrs[4]).toBe(ZERO_PCR_HEX);
    expect(pcrs[8]).toBeUndefined();
    expect(new Set([pcrs[0], pcrs[1], pcrs[2]]).size).toBe(3);
  });

  it('changing any one byte of the bundle changes PCR0 and PCR2, never PCR1', () => {
    const base = measureEnclave({ appBundle: bundle });
    fc.assert(
      fc.property(fc.nat({ max: bundle.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, delta) => {
        const changed = Uint8Array.from(bundle);
        changed[offset] = ((changed[offset] as number) + delta) & 0xff;
        const pcrs = measureEnclave({ appBundle: changed });
        expect(pcrs[0]).not.toBe(base[0]);
        expect(pcrs[2]).not.toBe(base[2]);
        expect(pcrs[1]).toBe(base[1]);
      }),
      { seed: 42, numRuns: 50 },
    );
  });

  it('PCR3 and PCR4 measure the role ARN and instance id; PCR8 the signing certificate', () => {
    const cert = new Uint8Array([0x30, 0x82, 1, 2, 3]);
    const pcrs = measureEnclave({
      appBundle: bundle,
      roleArn: 'arn:aws:iam::123456789012:role/Webserver',
      instanceId: 'i-1234567890abcdef0',
      signingCertDer: cert,
    });
    expect(pcrs[3]).toBe('78fce75db17cd4e0a3fb8dad3ad128ca5e77edbb2b2c7f75329dccd99aa5f6ef4fc1f1a452e315b9e98f9e312e6921e6');
    expect(pcrs[4]).toBe(pcrOfString('i-1234567890abcdef0'));
    expect(pcrs[8]).toBe(pcrOfBytes(cert));
  });

  it('debug mode zeroes PCR0-2 and keeps PCR3/4', () => {
    const pcrs = measureEnclave({ appBundle: bundle, debug: true, roleArn: 'arn:aws:iam::1:role/r', instanceId: 'i-0123456789abcdef0' });
    expect([pcrs[0], pcrs[1], pcrs[2]]).toEqual([ZERO_PCR_HEX, ZERO_PCR_HEX, ZERO_PCR_HEX]);
    expect(pcrs[3]).toBe(pcrOfString('arn:aws:iam::1:role/r'));
    expect(pcrs[4]).toBe(pcrOfString('i-0123456789abcdef0'));
  });
});
