/**
 * The /dev/nsm client. On a Nitro Enclave the device tests run against the real NSM (semantics from
 * aws/aws-nitro-enclaves-nsm-api nsm-test/src/bin/nsm-check.rs); elsewhere they skip, and the
 * ioctl path is still exercised on /dev/null, which answers NSM_IOCTL_RAW with ENOTTY.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NsmClient } from '../../enclave/nsm/client.js';
import { NSM_DEVICE_PATH, openNsmDevice } from '../../enclave/nsm/device.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { decodeNsmResponse, encodeNsmRequest } from '../../shared/nsm/codec.js';
import { addon, addonMissing } from './helpers.js';

const hasDevice = existsSync(NSM_DEVICE_PATH);
if (!hasDevice) console.warn(`NSM device tests skipped: ${NSM_DEVICE_PATH} does not exist (not inside a Nitro Enclave)`);

async function expectCode(promise: Promise<unknown>, code: string, part?: string): Promise<void> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnclaveKitError);
  expect((error as EnclaveKitError).code).toBe(code);
  if (part !== undefined) expect((error as Error).message).toContain(part);
}

describe.skipIf(addonMissing)('NSM ioctl plumbing (no device needed)', () => {
  it('uses NSM_IOCTL_RAW = 0xC0200A00 and the 4096/12288 limits (include/uapi/linux/nsm.h)', () => {
    expect(addon!.NSM_IOCTL_RAW).toBe(0xc0200a00);
    expect(addon!.NSM_REQUEST_MAX_SIZE).toBe(4096);
    expect(addon!.NSM_RESPONSE_MAX_SIZE).toBe(12288);
  });

  it('reports a missing device as ERR_NSM_UNAVAILABLE', () => {
    expect(() => openNsmDevice('/nonexistent/nsm')).toThrow(expect.objectContaining({ code: 'ERR_NSM_UNAVAILABLE' }));
  });

  it('runs ioctls on the thread pool and maps ENOTTY (not an NSM) to ERR_NSM_UNAVAILABLE', async () => {
    const transport = openNsmDevice('/dev/null');
    const request = encodeNsmRequest({ kind: 'GetRandom' });
    const calls = Array.from({ length: 16 }, () => expectCode(transport.call(request), 'ERR_NSM_UNAVAILABLE', 'ENOTTY'));
    await Promise.all(calls);
    await transport.close?.();
    await expectCode(transport.call(request), 'ERR_NSM_UNAVAILABLE', 'closed');
  });

  it('answers an oversized request with Error(InputTooLarge) without an ioctl, as the nsm-api driver does', async () => {
    const transport = openNsmDevice('/dev/null');
    const response = await transport.call(new Uint8Array(4097));
    expect(decodeNsmResponse(response)).toEqual({ kind: 'Error', code: 'InputTooLarge' });
    await transport.close?.();
  });

  it('rejects non-byte requests from JavaScript with TypeError', () => {
    expect(() => addon!.nsmIoctl(0, 'x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => addon!.nsmIoctl(0, new Uint16Array(2) as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe.skipIf(addonMissing || !hasDevice)('the real NSM (/dev/nsm)', () => {
  it('describes itself as nsm-check.rs expects', async () => {
    const nsm = new NsmClient(openNsmDevice());
    const description = await nsm.describeNsm();
    expect(description.maxPcrs).toBe(32);
    expect(description.digest).toBe('SHA384');
    expect(description.lockedPcrs).toEqual(expect.arrayContaining([0, 1, 2, 3, 4]));
    expect((await nsm.describePcr(0)).data).toHaveLength(48);
    expect((await nsm.describePcr(0)).lock).toBe(true);
    expect((await nsm.getRandom()).length).toBeGreaterThan(0);
    await nsm.close();
  });

  it('returns an attestation document carrying the request fields (COSE_Sign1, untagged)', async () => {
    const nsm = new NsmClient(openNsmDevice());
    const nonce = new Uint8Array(32).fill(7);
    const doc = await nsm.attest({ nonce, userData: new Uint8Array(1024).fill(1), publicKey: new Uint8Array(1024).fill(2) });
    expect(doc[0]).toBe(0x84);
    expect(Buffer.from(doc).includes(Buffer.from(nonce))).toBe(true);
    await nsm.close();
  });
});
