/**
 * Shared setup for the KMS simulator tests: a fresh state directory (`initSimState`), the simulator
 * in process, and real @aws-sdk/client-kms clients over HTTPS that trust the simulator's CA.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKmsSimulator, type KmsSimulator, type KmsSimulatorOptions } from '../../sim/kms/index.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { initSimState, loadCredentials, loadSimPki, type SimPrincipal } from '../../sim/state.js';

export type Role = 'admin' | 'enclave' | 'client';

export interface Harness {
  dir: string;
  sim: KmsSimulator;
  principals: SimPrincipal[];
  principal(role: Role): SimPrincipal;
  client(role: Role, overrides?: { credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; region?: string }): KMSClient;
  close(): Promise<void>;
}

export async function makeStateDir(prefix = 'ek-kms-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // The root predates the test by a day, so documents made on a clock set back (stale-document
  // tests) still chain to a root that was valid when they were signed.
  await initSimState(dir, { now: Date.now() - 86_400_000 });
  return dir;
}

export function kmsClient(
  sim: Pick<KmsSimulator, 'endpoint' | 'region' | 'caPem'>,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region = sim.region,
): KMSClient {
  const agent = new Agent({ ca: sim.caPem ?? undefined, keepAlive: false });
  return new KMSClient({
    endpoint: sim.endpoint,
    region,
    credentials,
    // One attempt: the tests assert on the first answer, not on the SDK's retries.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
  });
}

export async function startHarness(options: Partial<KmsSimulatorOptions> = {}, existingDir?: string): Promise<Harness> {
  const dir = existingDir ?? (await makeStateDir());
  const principals = await loadCredentials(dir);
  const sim = await startKmsSimulator({ stateDir: dir, silent: true, ...options });
  const clients: KMSClient[] = [];
  const principal = (role: Role): SimPrincipal => {
    const found = principals.find((p) => p.arn.endsWith(`:role/${role}`));
    if (found === undefined) throw new Error(`no ${role} principal`);
    return found;
  };
  return {
    dir,
    sim,
    principals,
    principal,
    client(role, overrides = {}) {
      const p = principal(role);
      const c = kmsClient(sim, overrides.credentials ?? { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, overrides.region);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await sim.close();
      if (existingDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An enclave identity: an RSA-2048 key pair (as the enclave makes at boot) and its SPKI DER. */
export function enclaveKeyPair(): { privateKey: KeyObject; spki: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
}

/** A simulated NSM of the state directory `dir`, booted with the given PCRs, on clock `now`. */
export async function simulatedNsm(dir: string, pcrs: Record<number, string>, now: () => number = Date.now): Promise<SimulatedNsm> {
  const pki = await loadSimPki(dir, now());
  return new SimulatedNsm({ pki, pcrs, now, silent: true });
}

/** SDK errors: the class name the SDK gave (from `__type`) and the HTTP status. */
export async function kmsError(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the KMS call to fail');
}
