/**
 * The dev stack's KMS setup on the simulator, in the production two-key layout (docs/security.md
 * "Two kinds of KMS key"):
 * - the card key: the client principal (producer) may encrypt with purpose=card|pii-text|pii-value
 *   only; the enclave role may decrypt only with an attestation document whose PCR0 equals the
 *   enclave bundle being started;
 * - the internal key: wraps the tokenization and blind-index keys; the admin may create wrapped
 *   keys (ciphertext only, purpose=<name>-key) and seal secrets (Encrypt, purpose=secret only), the
 *   producer has no grant at all, and the enclave decrypts under the same attestation condition;
 * - the RSA key (RSA_2048, ENCRYPT_DECRYPT) for offline producers (docs/api.md "Inputs sealed to a
 *   KMS RSA public key"): the producer may only GetPublicKey, the enclave decrypts under the same
 *   attestation condition; the enclave config pins it by ARN and SHA-256 of its public key.
 * Re-running updates both policies to the current bundle's PCR0 and keeps the wrapped keys.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extraCaAgent } from '../extra-ca-agent.js';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  KMSClient,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash } from 'node:crypto';
import { kmsRsaKeyId } from '../../shared/sealed/kms-rsa-sealer.js';
import { generateKeyPolicy, PRODUCER_PURPOSES, type KeyPolicyDocument } from '../../shared/policy/generate.js';

export const DEMO_KEY_ALIAS = 'alias/enclavekit-demo';
export const DEMO_INTERNAL_KEY_ALIAS = 'alias/enclavekit-demo-internal';
export const DEMO_RSA_KEY_ALIAS = 'alias/enclavekit-demo-rsa';
/** What CreateKey is given for the RSA key (KMS KeySpec and KeyUsage). */
const RSA_KEY_SPEC = { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' } as const;
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
    requestHandler: new NodeHttpHandler({ httpsAgent: extraCaAgent(ca, { keepAlive: true }) }),
  });
}

export interface DemoKeyPolicies {
  card: KeyPolicyDocument;
  internal: KeyPolicyDocument;
  rsa: KeyPolicyDocument;
}

/** The demo keys: what the stack pins in the enclave config. */
export interface DemoKeys {
  keyArn: string;
  internalKeyArn: string;
  rsaKeyArn: string;
  wrappedKeys: Record<string, WrappedKeyFile>;
}

/** Both demo key policies: see the file comment. */
export function demoKeyPolicies(options: { account: string; adminArn: string; enclaveRoleArn: string; producerArn: string; pcr0: string }): DemoKeyPolicies {
  const common = { account: options.account, enclaveRoleArn: options.enclaveRoleArn, adminArns: [options.adminArn], pcrs: { 0: options.pcr0 } };
  return {
    card: generateKeyPolicy({ ...common, kind: 'card', producerArns: [options.producerArn], encryptionContext: { purpose: PRODUCER_PURPOSES } }).policy,
    internal: generateKeyPolicy({ ...common, kind: 'internal', wrappedKeyGeneratorArns: [options.adminArn], secretWriterArns: [options.adminArn] }).policy,
    rsa: generateKeyPolicy({ ...common, kind: 'rsa', producerArns: [options.producerArn] }).policy,
  };
}

/** Creates the three keys (no aliases) and the wrapped keys under the internal key: the test and bench stacks. */
export async function createDemoKeys(admin: KMSClient, policies: DemoKeyPolicies, description: string): Promise<DemoKeys> {
  const keyArn = (await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(policies.card), Description: `${description} card key` }))).KeyMetadata!.Arn!;
  const internalKeyArn = (await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(policies.internal), Description: `${description} internal key` }))).KeyMetadata!.Arn!;
  const rsaKeyArn = (await admin.send(new CreateKeyCommand({ ...RSA_KEY_SPEC, Policy: JSON.stringify(policies.rsa), Description: `${description} RSA key` }))).KeyMetadata!.Arn!;
  const wrappedKeys: Record<string, WrappedKeyFile> = {};
  for (const name of WRAPPED_KEY_NAMES) wrappedKeys[name] = await generateWrappedKey(admin, internalKeyArn, name);
  return { keyArn, internalKeyArn, rsaKeyArn, wrappedKeys };
}

/**
 * The enclave config's `cards.rsaKey` for the RSA key: its ARN and the SHA-256 of the public key
 * (DER SubjectPublicKeyInfo) as GetPublicKey returns it, fetched by the producer, the only
 * principal the policy lets read it (docs/api.md "Inputs sealed to a KMS RSA public key").
 */
export async function rsaKeyPin(producer: KMSClient, rsaKeyArn: string): Promise<{ keyArn: string; publicKeySha256: string }> {
  const publicKey = (await producer.send(new GetPublicKeyCommand({ KeyId: rsaKeyArn }))).PublicKey;
  if (publicKey === undefined) throw new Error('GetPublicKey returned no PublicKey');
  return { keyArn: rsaKeyArn, publicKeySha256: kmsRsaKeyId(publicKey) };
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

async function ensureKey(admin: KMSClient, alias: string, policy: KeyPolicyDocument, description: string, spec: Partial<typeof RSA_KEY_SPEC> = {}): Promise<string> {
  const policyText = JSON.stringify(policy);
  try {
    const existing = await admin.send(new DescribeKeyCommand({ KeyId: alias }));
    const keyArn = existing.KeyMetadata?.Arn ?? '';
    await admin.send(new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: policyText }));
    return keyArn;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NotFoundException') throw error;
    const created = await admin.send(new CreateKeyCommand({ ...spec, Description: description, Policy: policyText }));
    const keyArn = created.KeyMetadata?.Arn ?? '';
    await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
    return keyArn;
  }
}

export async function ensureDemoKey(options: {
  kms: KmsEndpoint;
  account: string;
  admin: Principal;
  enclaveRoleArn: string;
  producerArn: string;
  pcr0: string;
  wrappedKeysFile: string;
}): Promise<DemoKeys> {
  const admin = await kmsClientFor(options.kms, options.admin);
  try {
    const policies = demoKeyPolicies({ ...options, adminArn: options.admin.arn });
    const keyArn = await ensureKey(admin, DEMO_KEY_ALIAS, policies.card, 'enclavekit dev card key');
    const internalKeyArn = await ensureKey(admin, DEMO_INTERNAL_KEY_ALIAS, policies.internal, 'enclavekit dev internal key');
    const rsaKeyArn = await ensureKey(admin, DEMO_RSA_KEY_ALIAS, policies.rsa, 'enclavekit dev RSA key', RSA_KEY_SPEC);

    let wrappedKeys: Record<string, WrappedKeyFile> = {};
    try {
      wrappedKeys = JSON.parse(await readFile(options.wrappedKeysFile, 'utf8')) as Record<string, WrappedKeyFile>;
    } catch {
      wrappedKeys = {};
    }
    let changed = false;
    for (const name of WRAPPED_KEY_NAMES) {
      // A wrapped key from an older layout (under the card key) is replaced, never reused.
      if (wrappedKeys[name]?.keyId === internalKeyArn) continue;
      wrappedKeys[name] = await generateWrappedKey(admin, internalKeyArn, name);
      changed = true;
    }
    if (changed) await writeFile(options.wrappedKeysFile, `${JSON.stringify(wrappedKeys, null, 2)}\n`, { mode: 0o600 });
    return { keyArn, internalKeyArn, rsaKeyArn, wrappedKeys };
  } finally {
    admin.destroy();
  }
}
