/**
 * Real components for the sealed-input tests: the KMS simulator in process over HTTPS, a card key
 * whose policy comes from generateKeyPolicy (enclave role bound to the PCR0 of a measured test
 * bundle, the client role as producer under purpose=card), an AttestedKms built as the enclave
 * builds it (SimulatedNsm → EnclaveIdentity → KMSClient for the enclave role), and producers using
 * @aws-crypto/client-node with the client role's credentials.
 *
 * The enclave's KMSClient uses a plain NodeHttpHandler trusting the simulator's CA instead of the
 * parent tunnel (the tunnel has its own tests).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KmsKeyringNodeInput } from '@aws-crypto/client-node';
import { CreateKeyCommand, KMS, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { kmsRsaKeyId } from '../../client/kms-rsa.js';
import { AttestedKms } from '../../enclave/kms/attested-kms.js';
import { DataKeyCache } from '../../enclave/kms/data-key-cache.js';
import { EnclaveIdentity } from '../../enclave/identity.js';
import { generateKeyPolicy, SID_PRODUCERS } from '../../shared/policy/generate.js';
import { startKmsSimulator, type KmsSimulator } from '../../sim/kms/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { DEFAULT_ACCOUNT, initSimState, loadCredentials, loadSimPki, type SimPrincipal } from '../../sim/state.js';

export const TEST_BUNDLE = new TextEncoder().encode('enclavekit sealed-input test bundle, v1\n');
export const OTHER_BUNDLE = new TextEncoder().encode('enclavekit sealed-input test bundle, v2 (not in the policy)\n');

type Credentials = { accessKeyId: string; secretAccessKey: string };

/** KMS operation → calls, as AttestedKms's onCall (or a producer wrapper) reports them. */
export type CallCounts = Record<string, number>;

export interface TestEnclave {
  kms: AttestedKms;
  calls: CallCounts;
  close(): void;
}

export interface SealedHarness {
  dir: string;
  sim: KmsSimulator;
  /** Generated policy: producers only with purpose=card; the enclave only with PCR0 of TEST_BUNDLE. */
  cardKeyArn: string;
  /** Same policy without the producers' encryption-context condition (to make wrong-context messages). */
  looseKeyArn: string;
  /** Default key policy (any principal of the account): "another KMS key". */
  otherKeyArn: string;
  /** The aggregated KMS client (what the ESDK keyring calls) for a role. */
  kmsFor(role: 'client' | 'admin' | 'enclave'): KMS;
  /** An enclave booted from `bundle` (default TEST_BUNDLE), talking to the simulator unless `endpoint`. */
  enclave(options?: { bundle?: Uint8Array; cache?: DataKeyCache; endpoint?: string }): Promise<TestEnclave>;
  close(): Promise<void>;
}

function httpsHandler(sim: KmsSimulator): NodeHttpHandler {
  return new NodeHttpHandler({ httpsAgent: new Agent({ ca: sim.caPem ?? undefined, keepAlive: true }) });
}

export async function startSealedHarness(): Promise<SealedHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'ek-sealed-'));
  await initSimState(dir);
  const principals = await loadCredentials(dir);
  const sim = await startKmsSimulator({ stateDir: dir, silent: true });
  const principal = (role: string): SimPrincipal => {
    const found = principals.find((p) => p.arn.endsWith(`:role/${role}`));
    if (found === undefined) throw new Error(`no ${role} principal in the sim state`);
    return found;
  };
  const creds = (role: string): Credentials => ({ accessKeyId: principal(role).accessKeyId, secretAccessKey: principal(role).secretAccessKey });
  const destroyers: (() => void)[] = [];
  const sdkClient = (role: string, endpoint = sim.endpoint): KMSClient => {
    const c = new KMSClient({ endpoint, region: sim.region, credentials: creds(role), maxAttempts: 1, requestHandler: httpsHandler(sim) });
    destroyers.push(() => c.destroy());
    return c;
  };

  const admin = sdkClient('admin');
  const pcrs = measureEnclave({ appBundle: TEST_BUNDLE });
  const policyFor = (encryptionContext?: Record<string, string[]>): string =>
    JSON.stringify(
      generateKeyPolicy({
        account: DEFAULT_ACCOUNT,
        enclaveRoleArn: principal('enclave').arn,
        adminArns: [principal('admin').arn],
        producerArns: [principal('client').arn],
        pcrs: { 0: pcrs[0]! },
        ...(encryptionContext === undefined ? {} : { encryptionContext }),
      }).policy,
    );
  const create = async (policy?: string): Promise<string> =>
    (await admin.send(new CreateKeyCommand(policy === undefined ? {} : { Policy: policy }))).KeyMetadata!.Arn!;
  const cardKeyArn = await create(policyFor({ purpose: ['card'] }));
  // A key whose policy lets producers use any context (written by hand: the generator refuses it),
  // so the enclave's own context checks are what the tests reach.
  const loose = JSON.parse(policyFor({ purpose: ['card'] })) as { Statement: { Sid: string; Condition?: unknown }[] };
  for (const statement of loose.Statement) if (statement.Sid === SID_PRODUCERS) delete statement.Condition;
  const looseKeyArn = await create(JSON.stringify(loose));
  const otherKeyArn = await create();

  return {
    dir,
    sim,
    cardKeyArn,
    looseKeyArn,
    otherKeyArn,
    kmsFor(role) {
      const c = new KMS({ endpoint: sim.endpoint, region: sim.region, credentials: creds(role), maxAttempts: 1, requestHandler: httpsHandler(sim) });
      destroyers.push(() => c.destroy());
      return c;
    },
    async enclave({ bundle = TEST_BUNDLE, cache, endpoint } = {}) {
      const nsm = new SimulatedNsm({ pki: await loadSimPki(dir, Date.now()), pcrs: measureEnclave({ appBundle: bundle }), silent: true });
      const identity = await EnclaveIdentity.create(nsm);
      const client = sdkClient('enclave', endpoint);
      const calls: CallCounts = {};
      const kms = new AttestedKms({
        client,
        attest: () => identity.attest(),
        recipientKey: identity.recipientKey,
        ...(cache === undefined ? {} : { cache }),
        onCall: (operation) => {
          calls[operation] = (calls[operation] ?? 0) + 1;
        },
      });
      return { kms, calls, close: () => client.destroy() };
    },
    async close() {
      for (const destroy of destroyers) destroy();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The aggregated KMS client as the ESDK keyring's client. The cast only bridges optional-property
 * typing: SDK v3 outputs declare `KeyId?: string | undefined`, the ESDK's `KeyId?: string`, which
 * differ under exactOptionalPropertyTypes; the runtime shapes are the same.
 */
export function esdkClientProvider(kms: KMS): NonNullable<KmsKeyringNodeInput['clientProvider']> {
  return () => kms as unknown as ReturnType<NonNullable<KmsKeyringNodeInput['clientProvider']>>;
}

/** Wraps an aggregated KMS client so a test can count the producer's calls. */
export function countingKms(inner: KMS, calls: CallCounts): KMS {
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A KMS key for kmsRsa inputs, as the enclave config pins it, and its public key (SPKI DER). */
export interface KmsRsaTestKey {
  pin: { keyArn: string; publicKeySha256: string };
  spki: Uint8Array;
}

/**
 * An RSA_2048 ENCRYPT_DECRYPT key under the generated rsa policy: the client role may only
 * GetPublicKey, the enclave role only Decrypt from an enclave measured from TEST_BUNDLE.
 */
export async function createKmsRsaKey(h: SealedHarness): Promise<KmsRsaTestKey> {
  const principals = await loadCredentials(h.dir);
  const arn = (role: string): string => principals.find((p) => p.arn.endsWith(`:role/${role}`))!.arn;
  const { policy } = generateKeyPolicy({
    kind: 'rsa',
    account: DEFAULT_ACCOUNT,
    enclaveRoleArn: arn('enclave'),
    adminArns: [arn('admin')],
    producerArns: [arn('client')],
    pcrs: { 0: measureEnclave({ appBundle: TEST_BUNDLE })[0]! },
  });
  const created = await h.kmsFor('admin').createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', Policy: JSON.stringify(policy) });
  const keyArn = created.KeyMetadata!.Arn!;
  const spki = (await h.kmsFor('client').getPublicKey({ KeyId: keyArn })).PublicKey!;
  return { pin: { keyArn, publicKeySha256: kmsRsaKeyId(spki) }, spki };
}
