/**
 * Encryption under a key of the KMS simulator, as SSM (SecureString) and Secrets Manager do it on
 * the caller's behalf: the service calls KMS with the caller's identity, so the caller needs the
 * KMS permission itself, with `kms:ViaService` set to the service ("kms:ViaService", AWS KMS
 * Developer Guide). The result is a CiphertextBlob of the KMS simulator (sim/kms/ciphertext-blob.ts)
 * with the service's encryption context, which the KMS simulator's Decrypt also opens.
 *
 * The key store is read from DIR/kms/ on every call, read-only: the KMS simulator (another process)
 * owns and writes it, and keys it creates must be usable at once. Grants are honoured; kms:ViaService
 * and the encryption context are in the request context of the key-policy evaluation.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyArn, parseKeyRef } from '../kms/arn.js';
import { openBlob, readBlobHeader, sealBlob } from '../kms/ciphertext-blob.js';
import { grantFor } from '../kms/grants.js';
import { parseKeyFile, readAliases, type KeyRecord } from '../kms/key-store.js';
import {
  accessDeniedText,
  authorizeRequest,
  callerConditionValues,
  encryptionContextConditionValues,
  parseKeyPolicy,
} from '../kms/policy/index.js';
import { AwsFault } from './fault.js';
import type { ServiceCaller } from './caller.js';

export interface KmsKeyAccess {
  /** DIR/kms of the simulator state. */
  kmsDir: string;
  region: string;
  caller: ServiceCaller;
  /** e.g. `ssm.us-east-1.amazonaws.com`. */
  viaService: string;
  /** The service's error name for a key it cannot use (SSM: InvalidKeyId; Secrets Manager: KMS errors as-is). */
  notFoundType: string;
}

const KEY_ID = /^[0-9a-fA-F-]{36}$|^mrk-[0-9a-f]{32}$/;

async function readKey(kmsDir: string, keyId: string): Promise<KeyRecord | undefined> {
  if (!KEY_ID.test(keyId)) return undefined;
  try {
    return parseKeyFile(await readFile(join(kmsDir, 'keys', `${keyId}.json`), 'utf8'), `${keyId}.json`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Key id, key ARN, alias name or alias ARN, resolved in the caller's account as KMS does. */
export async function resolveKmsKey(access: KmsKeyAccess, value: string): Promise<KeyRecord> {
  const missing = (): AwsFault => new AwsFault(access.notFoundType, `Key '${value}' does not exist`);
  const ref = parseKeyRef(value);
  if (ref === null) throw missing();
  let keyId: string;
  let account: string;
  if (ref.kind === 'id' || ref.kind === 'key-arn') {
    keyId = ref.keyId;
    account = ref.kind === 'id' ? access.caller.account : ref.account;
    if (ref.kind === 'key-arn' && ref.region !== access.region) throw missing();
  } else {
    account = ref.kind === 'alias' ? access.caller.account : ref.account;
    const aliases = await readAliases(join(access.kmsDir, 'aliases.json'));
    const alias = aliases.find((a) => a.account === account && a.aliasName === ref.aliasName && a.region === access.region);
    if (alias === undefined) throw missing();
    keyId = alias.targetKeyId;
  }
  const key = await readKey(access.kmsDir, keyId);
  if (key === undefined || key.account !== account) throw missing();
  return key;
}

function wipe(key: KeyRecord): void {
  for (const v of key.versions) v.material.fill(0);
}

/** The KMS decision for the caller through the service (key policy, identity policies, grants). */
function authorizeKms(access: KmsKeyAccess, key: KeyRecord, action: 'kms:Encrypt' | 'kms:Decrypt' | 'kms:GenerateDataKey', context: Record<string, string>): void {
  const resource = keyArn(key.region, key.account, key.keyId);
  const decision = authorizeRequest({
    principalArn: access.caller.arn,
    action,
    resource,
    values: { ...callerConditionValues(access.caller.arn, access.viaService), ...encryptionContextConditionValues(context) },
    keyPolicy: parseKeyPolicy(key.policy),
    keyAccount: key.account,
    identityPolicies: access.caller.identityPolicies,
  });
  if (decision.allowed) return;
  const explicit = decision.reason === 'explicit-deny-resource' || decision.reason === 'explicit-deny-identity';
  if (!explicit && grantFor(key.grants ?? [], access.caller.arn, action.slice('kms:'.length), context, () => decision.identity.allowed) !== undefined) return;
  throw new AwsFault('AccessDeniedException', accessDeniedText({ principalArn: access.caller.arn, action, resource }, decision.reason));
}

function requireSymmetricEnabled(access: KmsKeyAccess, key: KeyRecord): void {
  const arn = keyArn(key.region, key.account, key.keyId);
  if ((key.keySpec ?? 'SYMMETRIC_DEFAULT') !== 'SYMMETRIC_DEFAULT' || (key.keyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
    throw new AwsFault(access.notFoundType, `${arn} is not a symmetric encryption key.`);
  }
  if (key.state === 'Disabled') throw new AwsFault('DisabledException', `${arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw new AwsFault('KMSInvalidStateException', `${arn} is pending deletion.`);
}

/** Encrypts `plaintext` (zeroed afterwards) under the named key; returns the blob and the key ARN. */
export async function sealUnderKmsKey(
  access: KmsKeyAccess,
  keyIdValue: string,
  context: Record<string, string>,
  plaintext: Buffer,
  action: 'kms:Encrypt' | 'kms:GenerateDataKey',
): Promise<{ blob: Buffer; keyArn: string }> {
  const key = await resolveKmsKey(access, keyIdValue);
  try {
    authorizeKms(access, key, action, context);
    requireSymmetricEnabled(access, key);
    const index = key.versions.length - 1;
    const blob = sealBlob(key.versions[index]!.material, { keyId: key.keyId, keyVersion: index }, context, plaintext);
    return { blob, keyArn: keyArn(key.region, key.account, key.keyId) };
  } finally {
    plaintext.fill(0);
    wipe(key);
  }
}

/** Opens a blob made by sealUnderKmsKey, after the caller's kms:Decrypt is authorised. */
export async function openUnderKmsKey(access: KmsKeyAccess, blob: Uint8Array, context: Record<string, string>): Promise<Buffer> {
  const header = readBlobHeader(blob);
  const key = header === null ? undefined : await readKey(access.kmsDir, header.keyId);
  if (header === null || key === undefined) throw new AwsFault('InvalidCiphertextException', '');
  try {
    authorizeKms(access, key, 'kms:Decrypt', context);
    requireSymmetricEnabled(access, key);
    const version = key.versions[header.keyVersion];
    const plaintext = version === undefined ? null : openBlob(version.material, blob, context);
    if (plaintext === null) throw new AwsFault('InvalidCiphertextException', '');
    return plaintext;
  } finally {
    wipe(key);
  }
}
