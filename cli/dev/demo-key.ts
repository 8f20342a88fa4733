/**
 * The dev stack's KMS setup on the simulator: one demo key whose policy lets the client principal
 * encrypt (producer, encryption context purpose=card|pii-text|pii-value), lets the enclave role decrypt only with
 * an attestation document whose PCR0 equals the enclave bundle being started, and lets the admin
 * create wrapped keys (ciphertext only). Then the wrapped tokenization and blind-index keys.
 * Re-running updates the policy to the current bundle's PCR0 and keeps the wrapped keys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash } from 'node:crypto';
import { generateKeyPolicy, type KeyPolicyDocument } from '../../shared/policy/generate.js';

export const DEMO_KEY_ALIAS = 'alias/enclavekit-demo';
export const PRODUCER_CONTEXT_VALUES = ['card', 'pii-text', 'pii-value'];
export const WRAPPED_KEY_NAMES = ['tokenization', 'blind-index'] as const;

export interface Principal {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KmsEndpoint {
  endpoint: string;
  region: string;
  caFile: string | null;
}

export interface WrappedKeyFile {
  keyId: string;
  ciphertextBlob: string;
  encryptionContext: Record<string, string>;
}

export async function kmsClientFor(kms: KmsEndpoint, principal: Principal): Promise<KMSClient> {
  const ca = kms.caFile === null ? undefined : await readFile(kms.caFile);
  return new KMSClient({
    region: kms.region,
    endpoint: kms.endpoint,
    credentials: { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ...(ca === undefined ? {} : { ca }), keepAlive: true }) }),
  });
}

/** The demo key's policy: producers encrypt with purpose=card|pii-text|pii-value, the enclave only attested by PCR0. */
export function demoKeyPolicy(options: { account: string; adminArn: string; enclaveRoleArn: string; producerArn: string; pcr0: string }): KeyPolicyDocument {
  return generateKeyPolicy({
    account: options.account,
    enclaveRoleArn: options.enclaveRoleArn,
    adminArns: [options.adminArn],
    producerArns: [options.producerArn],
    wrappedKeyGeneratorArns: [options.adminArn],
    pcrs: { 0: options.pcr0 },
    encryptionContext: { purpose: PRODUCER_CONTEXT_VALUES },
  }).policy;
}

/** One wrapped key (ciphertext only) per name, under `keyArn` with context purpose=<name>-key. */
export async function generateWrappedKey(admin: KMSClient, keyArn: string, name: string): Promise<WrappedKeyFile> {
  const encryptionContext = { purpose: `${name}-key` };
  const out = await admin.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: encryptionContext }));
  return { keyId: keyArn, ciphertextBlob: Buffer.from(out.CiphertextBlob ?? []).toString('base64'), encryptionContext };
}

/** The enclave config's `keys` section pinning these wrapped keys (key, context, blob hash). */
export function pinnedKeys(wrappedKeys: Readonly<Record<string, WrappedKeyFile>>): Record<string, { keyId: string; encryptionContext: Record<string, string>; ciphertextSha256: string }> {
  return Object.fromEntries(
    Object.entries(wrappedKeys).map(([name, k]) => [
      name,
      { keyId: k.keyId, encryptionContext: k.encryptionContext, ciphertextSha256: createHash('sha256').update(Buffer.from(k.ciphertextBlob, 'base64')).digest('hex') },
    ]),
  );
}

export async function ensureDemoKey(options: {
  kms: KmsEndpoint;
  account: string;
  admin: Principal;
  enclaveRoleArn: string;
  producerArn: string;
  pcr0: string;
  wrappedKeysFile: string;
}): Promise<{ keyArn: string; wrappedKeys: Record<string, WrappedKeyFile> }> {
  const admin = await kmsClientFor(options.kms, options.admin);
  try {
    const policyText = JSON.stringify(demoKeyPolicy({ ...options, adminArn: options.admin.arn }));
    let keyArn: string;
    try {
      const existing = await admin.send(new DescribeKeyCommand({ KeyId: DEMO_KEY_ALIAS }));
      keyArn = existing.KeyMetadata?.Arn ?? '';
      await admin.send(new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: policyText }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'NotFoundException') throw error;
      const created = await admin.send(new CreateKeyCommand({ Description: 'enclavekit dev demo key', Policy: policyText }));
      keyArn = created.KeyMetadata?.Arn ?? '';
      await admin.send(new CreateAliasCommand({ AliasName: DEMO_KEY_ALIAS, TargetKeyId: keyArn }));
    }

    let wrappedKeys: Record<string, WrappedKeyFile> = {};
    try {
      wrappedKeys = JSON.parse(await readFile(options.wrappedKeysFile, 'utf8')) as Record<string, WrappedKeyFile>;
    } catch {
      wrappedKeys = {};
    }
    let changed = false;
    for (const name of WRAPPED_KEY_NAMES) {
      if (wrappedKeys[name]?.keyId === keyArn) continue;
      wrappedKeys[name] = await generateWrappedKey(admin, keyArn, name);
      changed = true;
    }
    if (changed) await writeFile(options.wrappedKeysFile, `${JSON.stringify(wrappedKeys, null, 2)}\n`, { mode: 0o600 });
    return { keyArn, wrappedKeys };
  } finally {
    admin.destroy();
  }
}
