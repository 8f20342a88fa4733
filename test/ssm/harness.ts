/**
 * Shared setup for the SSM and Secrets Manager simulator tests: a fresh state directory, the KMS,
 * SSM and Secrets Manager simulators in process with fixed principals, and the unmodified
 * @aws-sdk/client-ssm, client-secrets-manager and client-kms over HTTPS trusting the simulators' CA.
 */
import { rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ENCLAVE_ROLE_DENY_UNATTESTED } from '../../sim/iam/default-policies.js';
import { startKmsSimulator, type KmsPrincipal, type KmsSimulator } from '../../sim/kms/index.js';
import { startSecretsManagerSimulator, type SecretsManagerSimulator } from '../../sim/secrets-manager/index.js';
import { startSsmSimulator, type SsmSimulator } from '../../sim/ssm/index.js';
import { makeStateDir } from '../kms/harness.js';

export const ACCOUNT = '111122223333';
const allow = (actions: string[], sid: string) => ({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Action: actions, Resource: '*' }] });

/** Account administrator: every KMS, SSM and Secrets Manager action. */
export const ADMIN: KmsPrincipal = {
  arn: `arn:aws:iam::${ACCOUNT}:role/admin`,
  accessKeyId: 'AKIASTORESADMIN00001',
  secretAccessKey: 'a'.repeat(40),
  identityPolicies: [allow(['kms:*', 'ssm:*', 'secretsmanager:*'], 'Admin')],
};

/**
 * The parent's role: reads parameters and secrets, and its KMS use is denied without an enclave
 * attestation (the first statement of deploy/iam/parent-instance-role-policy.json; that file's
 * other statements limit reads to names under enclavekit/, which these tests do not use).
 */
export const PARENT: KmsPrincipal = {
  arn: `arn:aws:iam::${ACCOUNT}:role/enclave`,
  accessKeyId: 'AKIASTORESPARENT0001',
  secretAccessKey: 'p'.repeat(40),
  identityPolicies: [
    { Version: '2012-10-17', Statement: [(ENCLAVE_ROLE_DENY_UNATTESTED['Statement'] as unknown[])[0]] },
    allow(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory', 'secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], 'ReadStores'),
  ],
};

/** A principal with no permissions at all. */
export const NOBODY: KmsPrincipal = { arn: `arn:aws:iam::${ACCOUNT}:role/nobody`, accessKeyId: 'AKIASTORESNOBODY0001', secretAccessKey: 'n'.repeat(40), identityPolicies: [] };

export const PRINCIPALS = [ADMIN, PARENT, NOBODY];

export interface StoresHarness {
  dir: string;
  kms: KmsSimulator;
  ssm: SsmSimulator;
  sm: SecretsManagerSimulator;
  kmsClient(p?: KmsPrincipal): KMSClient;
  ssmClient(p?: KmsPrincipal): SSMClient;
  smClient(p?: KmsPrincipal): SecretsManagerClient;
  /** Stops the three simulators (keeping the state directory) and starts them again on it. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

function handler(caPem: string | null): NodeHttpHandler {
  return new NodeHttpHandler({ httpsAgent: new Agent({ ca: caPem ?? undefined, keepAlive: false }) });
}

export async function startStores(options: { now?: () => number } = {}): Promise<StoresHarness> {
  const offset = (): number => (options.now === undefined ? 0 : options.now() - Date.now());
  const dir = await makeStateDir('ek-stores-');
  const common = { stateDir: dir, principals: PRINCIPALS, silent: true, ...(options.now === undefined ? {} : { now: options.now }) };
  const clients: { destroy(): void }[] = [];
  const start = async () => ({
    kms: await startKmsSimulator({ ...common, writeDiscoveryFile: false }),
    ssm: await startSsmSimulator(common),
    sm: await startSecretsManagerSimulator(common),
  });
  let sims = await start();
  const h: StoresHarness = {
    dir,
    get kms() { return sims.kms; },
    get ssm() { return sims.ssm; },
    get sm() { return sims.sm; },
    kmsClient(p = ADMIN) {
      const c = new KMSClient({ endpoint: sims.kms.endpoint, region: sims.kms.region, credentials: p, maxAttempts: 1, systemClockOffset: offset(), requestHandler: handler(sims.kms.caPem) });
      clients.push(c);
      return c;
    },
    ssmClient(p = ADMIN) {
      const c = new SSMClient({ endpoint: sims.ssm.endpoint, region: sims.ssm.region, credentials: p, maxAttempts: 1, systemClockOffset: offset(), requestHandler: handler(sims.ssm.caPem) });
      clients.push(c);
      return c;
    },
    smClient(p = ADMIN) {
      const c = new SecretsManagerClient({ endpoint: sims.sm.endpoint, region: sims.sm.region, credentials: p, maxAttempts: 1, systemClockOffset: offset(), requestHandler: handler(sims.sm.caPem) });
      clients.push(c);
      return c;
    },
    async restart() {
      for (const c of clients.splice(0)) c.destroy();
      await Promise.all([sims.kms.close(), sims.ssm.close(), sims.sm.close()]);
      sims = await start();
    },
    async close() {
      for (const c of clients.splice(0)) c.destroy();
      await Promise.all([sims.kms.close(), sims.ssm.close(), sims.sm.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** The SDK error a call failed with: its class name (from `__type`), HTTP status and message. */
export async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}
