/**
 * SimulatedNsm against the NSM semantics of docs/formats.md section 4.2 and AWS's on-device test
 * (aws-nitro-enclaves-nsm-api nsm-test/src/bin/nsm-check.rs).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../shared/cbor.js';
import { NsmError, decodeNsmResponse, encodeNsmRequest, nsmErrorCodeOf } from '../../shared/nsm/codec.js';
import { PCR_LENGTH, ZERO_PCR_HEX, pcrOfString } from '../../shared/pcr.js';
import { SIMULATOR_BANNER_MARKER } from '../../sim/announce.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { SimulatedNsm, maxExtendDataBytes, newModuleId } from '../../sim/nsm/simulated-nsm.js';
import { LEAF_MIN_REMAINING_MS, MODULE_ID_PATTERN, SimPki } from '../../sim/pki/index.js';
import { coseParts } from './cbor-shape.js';

const T0 = Date.UTC(2026, 2, 1, 9, 30, 0);
const MODULE_ID = 'i-0123456789abcdef0-enc0123456789abcdef';
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

let pki: SimPki;
beforeAll(async () => {
  pki = await SimPki.createInMemory(T0);
});

function boot(options: { now?: () => number; pcrs?: Record<number, string> } = {}): SimulatedNsm {
  return new SimulatedNsm({ pki, moduleId: MODULE_ID, now: options.now ?? (() => T0), silent: true, pcrs: options.pcrs });
}

function payloadOf(doc: Uint8Array): Map<string, unknown> {
  return decodeCbor(coseParts(doc).payload) as Map<string, unknown>;
}

async function nsmCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NsmError);
    expect((error as NsmError).code).toBe('ERR_NSM');
    expect((error as NsmError).message).toContain((error as NsmError).nsmCode);
    return nsmErrorCodeOf(error);
  }
  return undefined;
}

describe('SimulatedNsm PCRs', () => {
  it('boots with PCR0-15 locked, PCR16-31 unlocked and zero, PCR4 = the instance id', async () => {
    const measured = measureEnclave({ appBundle: new Uint8Array([1, 2, 3]) });
    const nsm = boot({ pcrs: { 0: measured[0] as string, 1: measured[1] as string, 2: measured[2] as string } });
    const described = await Promise.all(Array.from({ length: 32 }, (_, i) => nsm.describePcr(i)));
    expect(described.map((d) => d.lock)).toEqual(Array.from({ length: 32 }, (_, i) => i < 16));
    expect(described.every((d) => d.data.length === PCR_LENGTH)).toBe(true);
    expect(hex(described[0]?.data as Uint8Array)).toBe(measured[0]);
    expect(hex(described[4]?.data as Uint8Array)).toBe(pcrOfString('i-0123456789abcdef0'));
    expect(described.slice(16).every((d) => hex(d.data) === ZERO_PCR_HEX)).toBe(true);
    const description = await nsm.describeNsm();
    expect(description).toMatchObject({ moduleId: MODULE_ID, maxPcrs: 32, digest: 'SHA384' });
    expect(description.lockedPcrs).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('extends as SHA384(PCR ‖ data), then refuses once locked (ReadOnlyIndex)', async () => {
    const nsm = boot();
    const data = new Uint8Array([1, 2, 3]);
    const first = await nsm.extendPcr(16, data);
    expect(hex(first)).toBe(createHash('sha384').update(new Uint8Array(48)).update(data).digest('hex'));
    const second = await nsm.extendPcr(16, data);
    expect(hex(second)).toBe(createHash('sha384').update(first).update(data).digest('hex'));
    expect(hex((await nsm.describePcr(16)).data)).toBe(hex(second));
    await nsm.lockPcr(16);
    expect(await nsmCode(nsm.extendPcr(16, data))).toBe('ReadOnlyIndex');
    expect(await nsmCode(nsm.lockPcr(16))).toBe('ReadOnlyIndex');
    expect(await nsmCode(nsm.extendPcr(3, data))).toBe('ReadOnlyIndex');
    expect(await nsmCode(nsm.lockPcr(0))).toBe('ReadOnlyIndex');
    expect((await nsm.describePcr(16)).lock).toBe(true);
  });

  it('rejects indexes out of range (InvalidIndex) and non-u16 values (InvalidArgument)', async () => {
    const nsm = boot();
    expect(await nsmCode(nsm.describePcr(32))).toBe('InvalidIndex');
    expect(await nsmCode(nsm.extendPcr(40, new Uint8Array(1)))).toBe('InvalidIndex');
    expect(await nsmCode(nsm.lockPcr(32))).toBe('InvalidIndex');
    expect(await nsmCode(nsm.describePcr(-1))).toBe('InvalidArgument');
    expect(await nsmCode(nsm.describePcr(1.5))).toBe('InvalidArgument');
  });

  it('LockPCRs locks [0, range), accepts locked PCRs, and refuses range > 32 (nsm-check.rs)', async () => {
    const nsm = boot();
    await nsm.lockPcrs(20);
    expect((await nsm.describeNsm()).lockedPcrs).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await nsmCode(nsm.lockPcrs(33))).toBe('InvalidIndex');
    await nsm.lockPcrs(32);
    expect((await nsm.describeNsm()).lockedPcrs).toHaveLength(32);
    for (let i = 0; i < 32; i += 1) expect(await nsmCode(nsm.extendPcr(i, new Uint8Array(1)))).toBe('ReadOnlyIndex');
  });

  it('limits ExtendPCR data to what fits a 4096-byte serde request', async () => {
    const nsm = boot();
    for (const index of [16, 31]) {
      const max = maxExtendDataBytes(index);
      const request = encodeNsmRequest({ kind: 'ExtendPCR', index, data: new Uint8Array(max) });
      expect(request.length).toBe(4096);
      await nsm.extendPcr(index, new Uint8Array(max));
      expect(await nsmCode(nsm.extendPcr(index, new Uint8Array(max + 1)))).toBe('InputTooLarge');
    }
  });

  it('rejects boot PCR values of the wrong size and boot values for PCR16+', () => {
    expect(() => boot({ pcrs: { 0: 'abcd' } })).toThrow(RangeError);
    expect(() => boot({ pcrs: { 16: ZERO_PCR_HEX } })).toThrow(RangeError);
  });
});

describe('SimulatedNsm attestation', () => {
  it('documents carry the locked PCRs: PCR0-15 after boot, plus application PCRs once locked', async () => {
    const nsm = boot();
    const before = payloadOf(await nsm.attest({}));
    expect([...(before.get('pcrs') as Map<number, Uint8Array>).keys()]).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const extended = await nsm.extendPcr(17, new Uint8Array([9]));
    expect((payloadOf(await nsm.attest({})).get('pcrs') as Map<number, Uint8Array>).has(17)).toBe(false);
    await nsm.lockPcr(17);
    const after = payloadOf(await nsm.attest({})).get('pcrs') as Map<number, Uint8Array>;
    expect([...after.keys()]).toEqual([...Array.from({ length: 16 }, (_, i) => i), 17]);
    expect(hex(after.get(17) as Uint8Array)).toBe(hex(extended));
  });

  it('accepts 1024-byte user_data, nonce and public_key together, and refuses 1025 (InputTooLarge)', async () => {
    const nsm = boot();
    const big = new Uint8Array(1024).fill(128);
    const payload = payloadOf(await nsm.attest({ userData: big, nonce: big, publicKey: big }));
    expect((payload.get('user_data') as Uint8Array).length).toBe(1024);
    expect((payload.get('nonce') as Uint8Array).length).toBe(1024);
    expect((payload.get('public_key') as Uint8Array).length).toBe(1024);
    for (const field of ['userData', 'nonce', 'publicKey'] as const) {
      expect(await nsmCode(nsm.attest({ [field]: new Uint8Array(1025) }))).toBe('InputTooLarge');
    }
  });

  it('puts the request fields, module id and clock into the document', async () => {
    const nsm = boot({ now: () => T0 + 5000 });
    const payload = payloadOf(await nsm.attest({ userData: new Uint8Array([1]), nonce: new Uint8Array([2, 3]) }));
    expect(payload.get('module_id')).toBe(MODULE_ID);
    expect(payload.get('timestamp')).toBe(BigInt(T0 + 5000));
    expect(payload.get('user_data')).toEqual(new Uint8Array([1]));
    expect(payload.get('nonce')).toEqual(new Uint8Array([2, 3]));
    expect(payload.get('public_key')).toBeNull();
  });

  it('keeps one leaf per boot and re-issues it when less than 30 minutes remain', async () => {
    let now = T0;
    const nsm = boot({ now: () => now });
    const leafOf = async (): Promise<X509Certificate> => new X509Certificate(payloadOf(await nsm.attest({})).get('certificate') as Uint8Array);
    const first = await leafOf();
    now = T0 + 60 * 60_000;
    expect((await leafOf()).fingerprint256).toBe(first.fingerprint256);
    now = Date.parse(first.validTo) - LEAF_MIN_REMAINING_MS + 1000;
    const second = await leafOf();
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
    expect(Date.parse(second.validFrom)).toBeLessThanOrEqual(now);
    expect(Date.parse(second.validTo)).toBeGreaterThan(now + 2 * 3_600_000);
  });

  it('answers concurrent first attestations with one leaf', async () => {
    const nsm = boot();
    const docs = await Promise.all(Array.from({ length: 5 }, () => nsm.attest({})));
    const leaves = new Set(docs.map((d) => hex(payloadOf(d).get('certificate') as Uint8Array)));
    expect(leaves.size).toBe(1);
  });

  it('gives 256 fresh random bytes per GetRandom', async () => {
    const nsm = boot();
    const [a, b] = [await nsm.getRandom(), await nsm.getRandom()];
    expect(a.length).toBe(256);
    expect(hex(a)).not.toBe(hex(b));
  });

  it('refuses calls after close with ERR_NSM_UNAVAILABLE', async () => {
    const nsm = boot();
    await nsm.close();
    await expect(nsm.attest({})).rejects.toMatchObject({ code: 'ERR_NSM_UNAVAILABLE' });
  });

  it('maps its errors to the NSM wire Error variant through the codec', async () => {
    const nsm = boot();
    const error = await nsm.extendPcr(0, new Uint8Array(1)).catch((e: unknown) => e);
    expect(nsmErrorCodeOf(error)).toBe('ReadOnlyIndex');
    // The same Error response the real NSM sends: {"Error": "InvalidIndex"} (docs/formats.md 4.2).
    expect(decodeNsmResponse(Buffer.from('a1654572726f726c496e76616c6964496e646578', 'hex'))).toEqual({ kind: 'Error', code: 'InvalidIndex' });
  });
});

describe('module ids and the start banner', () => {
  it('makes module ids i-<17 hex>-enc<16 hex> that start with the start time in ms', () => {
    const id = newModuleId(T0);
    expect(id).toMatch(MODULE_ID_PATTERN);
    expect(id).toMatch(/^i-[0-9a-f]{17}-enc[0-9a-f]{16}$/);
    expect(id.split('-enc')[1]?.slice(0, 12)).toBe(T0.toString(16).padStart(12, '0'));
    expect(() => new SimulatedNsm({ pki, moduleId: 'i-xyz', silent: true })).toThrow(RangeError);
  });

  it('announces itself on construction unless silenced', () => {
    let written = '';
    const stream = { write: (text: string) => (written += text) };
    new SimulatedNsm({ pki, moduleId: MODULE_ID, announceTo: stream });
    expect(written).toContain(SIMULATOR_BANNER_MARKER);
    expect(written).toContain(MODULE_ID);
    written = '';
    new SimulatedNsm({ pki, moduleId: MODULE_ID, announceTo: stream, silent: true });
    expect(written).toBe('');
  });
});
