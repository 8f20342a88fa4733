/**
 * The dev enclave's real NSM path end to end: NsmClient → connectNsmSocket → serveNsm →
 * SimulatedNsm, replaying the checks of AWS's on-device test (aws-nitro-enclaves-nsm-api
 * nsm-test/src/bin/nsm-check.rs) through the raw NSM protocol, and verifying the document that
 * crosses the socket with the foundation verifier.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NsmClient } from '../../enclave/nsm/client.js';
import { connectNsmSocket } from '../../enclave/nsm/socket.js';
import { verifyAttestation } from '../../shared/attestation/index.js';
import type { NsmError } from '../../shared/nsm/codec.js';
import { serveNsm, type NsmServer } from '../../sim/nsm/server.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { SimPki } from '../../sim/pki/index.js';

const T0 = Date.UTC(2026, 2, 1, 9, 30, 0);
const BOOT_PCRS = { 0: 'a0'.repeat(48), 1: 'a1'.repeat(48), 2: 'a2'.repeat(48) };
const dir = mkdtempSync(join(tmpdir(), 'ek-simsock-'));
let pki: SimPki;
let server: NsmServer;
let client: NsmClient;

beforeAll(async () => {
  pki = await SimPki.createInMemory(T0);
  const nsm = new SimulatedNsm({ pki, moduleId: 'i-0123456789abcdef0-enc0123456789abcdef', now: () => T0, silent: true, pcrs: BOOT_PCRS });
  server = await serveNsm(nsm, join(dir, 'nsm.sock'));
  client = new NsmClient(connectNsmSocket(join(dir, 'nsm.sock')));
});
afterAll(async () => {
  await client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function nsmCodeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => expect.unreachable('expected an NSM error'),
    (e: unknown) => e,
  );
  expect((error as NsmError).code).toBe('ERR_NSM');
  return (error as NsmError).nsmCode;
}

describe('SimulatedNsm behind the raw NSM socket', () => {
  it('passes nsm-check.rs: PCR locks, extends, ranges', async () => {
    const description = await client.describeNsm();
    expect(description.maxPcrs).toBe(32);
    expect(description.digest).toBe('SHA384');
    expect(description.lockedPcrs).toEqual(Array.from({ length: 16 }, (_, i) => i));
    for (let i = 0; i < 16; i += 1) {
      expect((await client.describePcr(i)).lock).toBe(true);
      expect(await nsmCodeOf(client.lockPcr(i))).toBe('ReadOnlyIndex');
      expect(await nsmCodeOf(client.extendPcr(i, new Uint8Array([1])))).toBe('ReadOnlyIndex');
    }
    for (let i = 16; i < 32; i += 1) {
      expect(await client.describePcr(i)).toEqual({ lock: false, data: new Uint8Array(48) });
      const extended = await client.extendPcr(i, new Uint8Array([1, 2, 3]));
      expect((await client.describePcr(i)).data).toEqual(extended);
      await client.lockPcr(i);
      expect(await nsmCodeOf(client.extendPcr(i, new Uint8Array([1])))).toBe('ReadOnlyIndex');
    }
    expect(await nsmCodeOf(client.describePcr(32))).toBe('InvalidIndex');
    await client.lockPcrs(32);
    expect(await nsmCodeOf(client.lockPcrs(33))).toBe('InvalidIndex');
  });

  it('returns a document that the verifier accepts with the sim root (and its fields intact)', async () => {
    const big = (fill: number): Uint8Array => new Uint8Array(1024).fill(fill);
    const doc = await client.attest({ userData: big(1), nonce: big(2), publicKey: big(3) });
    const verified = verifyAttestation(doc, { at: T0, roots: [pki.rootPem], expectedPcrs: BOOT_PCRS });
    expect(verified.userData).toEqual(big(1));
    expect(verified.nonce).toEqual(big(2));
    expect(verified.publicKey).toEqual(big(3));
    expect(verified.moduleId).toBe('i-0123456789abcdef0-enc0123456789abcdef');
    // The same document is refused against AWS's root: the sim is only trusted when told so.
    expect(() => verifyAttestation(doc, { at: T0, expectedPcrs: BOOT_PCRS })).toThrow(expect.objectContaining({ code: 'ERR_ATTESTATION_CHAIN' }));
  });

  it('gives 256 random bytes per GetRandom, different each time', async () => {
    const a = await client.getRandom();
    const b = await client.getRandom();
    expect(a).toHaveLength(256);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});
