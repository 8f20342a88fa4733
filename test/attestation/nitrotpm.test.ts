/**
 * NitroTPM documents (`nitrotpm_pcrs`) from the simulated NSM: the verifier refuses them unless
 * asked (`nitroTpm`, `attest verify --nitrotpm`), reports their kind when asked, and compares expected
 * PCRs with the TPM registers. The enclave code never asks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifyArgs, resultJson } from '../../cli/commands/attest.js';
import { parseAttestation } from '../../shared/attestation/document.js';
import { verifyAttestation } from '../../shared/attestation/index.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { initSimState, loadSimPki, simRootPemPath } from '../../sim/state.js';

const TPM4 = '4a'.repeat(48);
const TPM7 = '7b'.repeat(48);
const ENCLAVE0 = 'e0'.repeat(48);

let dir: string;
let root: string;
let nsm: SimulatedNsm;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ek-nitrotpm-'));
  await initSimState(dir, { now: Date.now() - 86_400_000 });
  root = await readFile(simRootPemPath(dir), 'utf8');
  nsm = new SimulatedNsm({ pki: await loadSimPki(dir, Date.now()), pcrs: { 0: ENCLAVE0, 1: ENCLAVE0, 2: ENCLAVE0 }, silent: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('NitroTPM documents', () => {
  it('are shaped as AWS describes: nitrotpm_pcrs in place of pcrs, TPM registers only', async () => {
    const doc = await nsm.attestNitroTpm({}, { 4: TPM4, 7: TPM7 });
    const parsed = parseAttestation(doc);
    expect(parsed.nitroTpm).toBe(true);
    expect([...parsed.pcrs.keys()]).toEqual([4, 7]);
    expect(Buffer.from(doc).includes(Buffer.from('nitrotpm_pcrs'))).toBe(true);
    await expect(nsm.attestNitroTpm({}, { 24: TPM4 })).rejects.toThrow(RangeError);
  });

  it('are refused by default with ERR_ATTESTATION_POLICY, even with anyPcrs and allowDebug', async () => {
    const doc = await nsm.attestNitroTpm({}, { 4: TPM4 });
    expect(() => verifyAttestation(doc, { at: Date.now(), roots: [root], anyPcrs: true, allowDebug: true })).toThrow(
      expect.objectContaining({ code: 'ERR_ATTESTATION_POLICY' }),
    );
  });

  it('verify with nitroTpm: kind nitrotpm, expected PCRs compared with the TPM registers', async () => {
    const doc = await nsm.attestNitroTpm({}, { 4: TPM4, 7: TPM7 });
    const ok = verifyAttestation(doc, { at: Date.now(), roots: [root], expectedPcrs: { 4: TPM4 }, nitroTpm: true });
    expect(ok.kind).toBe('nitrotpm');
    expect(ok.pcrs).toEqual({ 4: TPM4, 7: TPM7 });
    expect(() => verifyAttestation(doc, { at: Date.now(), roots: [root], expectedPcrs: { 4: TPM7 }, nitroTpm: true })).toThrow(
      expect.objectContaining({ code: 'ERR_PCR_MISMATCH' }),
    );
    // An enclave document under the same option stays an enclave document.
    const enclave = verifyAttestation(await nsm.attest({}), { at: Date.now(), roots: [root], expectedPcrs: { 0: ENCLAVE0 }, nitroTpm: true });
    expect(enclave.kind).toBe('nitro-enclave');
  });

  it('attest verify takes --nitrotpm and reports the kind', async () => {
    expect(parseVerifyArgs(['doc.cbor', '--any-pcrs']).nitroTpm).toBe(false);
    expect(parseVerifyArgs(['doc.cbor', '--any-pcrs', '--nitrotpm']).nitroTpm).toBe(true);
    const doc = await nsm.attestNitroTpm({}, { 4: TPM4 });
    const json = resultJson(verifyAttestation(doc, { at: Date.now(), roots: [root], anyPcrs: true, nitroTpm: true }));
    expect(json).toMatchObject({ valid: true, kind: 'nitrotpm', pcrs: { 4: TPM4 } });
  });

  it('are never accepted by the enclave code: nothing under enclave/ passes the nitroTpm option', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(import.meta.dirname, '../../enclave'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/nitroTpm|nitrotpm/i);
  });
});
