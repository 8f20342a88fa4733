/**
 * Key management: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
 * CancelKeyDeletion, GetKeyPolicy, PutKeyPolicy. Shapes and limits: botocore
 * kms/2014-11-01/service-2.json; behaviour: the KMS API reference of each operation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EnclaveKitError } from '../../../shared/errors.js';
import { defaultKeyPolicy } from '../default-policy.js';
import { KmsFault } from '../errors.js';
import type { KeyRecord } from '../key-store.js';
import type { RequestShape } from '../shapes.js';
import {
  arnOf,
  authorize,
  authorizeWithoutKey,
  decide,
  epochSeconds,
  keyIdMember,
  keyMetadata,
  requireNotPendingDeletion,
  resolveKey,
  type OpContext,
  type Operation,
} from './context.js';

const DAY_MS = 86_400_000;
/** Model PolicyType: 1..131072 characters (KMS's own quota, 32 KiB, is checked by the parser). */
const POLICY_RULE = { min: 1, max: 131_072 } as const;
const POLICY_NAME = /^[\w]+$/;

/** The simulator makes symmetric AES-256-GCM keys only. */
function refuseUnsupported(shape: RequestShape): void {
  const spec = shape.enumOf('KeySpec', ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ECC_NIST_EDWARDS25519']);
  const legacy = shape.string('CustomerMasterKeySpec');
  const usage = shape.enumOf('KeyUsage', ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']);
  const origin = shape.enumOf('Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);
  const unsupported =
    (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') ||
    (legacy !== undefined && legacy !== 'SYMMETRIC_DEFAULT') ||
    (usage !== undefined && usage !== 'ENCRYPT_DECRYPT') ||
    (origin !== undefined && origin !== 'AWS_KMS') ||
    shape.boolean('MultiRegion') === true ||
    shape.has('CustomKeyStoreId') ||
    shape.has('XksKeyId');
  if (unsupported) {
    throw new KmsFault('UnsupportedOperationException', 'The KMS simulator supports only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys with AWS_KMS origin in a single region.');
  }
}

function readPolicy(shape: RequestShape, ctx: OpContext, required: boolean): string | undefined {
  const text = required ? shape.string('Policy', { required: true, ...POLICY_RULE }) : shape.string('Policy', POLICY_RULE);
  if (text === undefined) return undefined;
  try {
    ctx.policies.get(text);
  } catch (error) {
    if (error instanceof EnclaveKitError) throw new KmsFault('MalformedPolicyDocumentException', error.message);
    throw error;
  }
  return text;
}

/**
 * KMS's policy lockout safety check: unless BypassPolicyLockoutSafetyCheck, the caller must still be
 * allowed kms:PutKeyPolicy under the new policy (CreateKey and PutKeyPolicy API reference).
 */
function lockoutCheck(ctx: OpContext, shape: RequestShape, key: KeyRecord): void {
  if (shape.boolean('BypassPolicyLockoutSafetyCheck') === true) return;
  if (!decide(ctx, key, 'kms:PutKeyPolicy', {}).allowed) {
    throw new KmsFault('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
}

export const createKey: Operation = async (shape, ctx) => {
  refuseUnsupported(shape);
  const description = shape.string('Description', { max: 8192 }) ?? '';
  authorizeWithoutKey(ctx, 'kms:CreateKey');
  const policy = readPolicy(shape, ctx, false) ?? defaultKeyPolicy(ctx.caller.account);
  const keyId = randomUUID();
  const record: KeyRecord = {
    keyId,
    account: ctx.caller.account,
    region: ctx.region,
    description,
    createdAt: ctx.now,
    state: 'Enabled',
    rotationEnabled: false,
    policy,
    versions: [{ materialId: randomBytes(32).toString('hex'), material: randomBytes(32), createdAt: ctx.now }],
  };
  lockoutCheck(ctx, shape, record);
  await ctx.store.mutate(() => ctx.store.putKey(record));
  return { KeyMetadata: keyMetadata(record) };
};

export const describeKey: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  authorize(ctx, key, 'kms:DescribeKey');
  return { KeyMetadata: keyMetadata(key) };
};

/** Pages are ordered by key id; the marker is the last key id returned. */
export const listKeys: Operation = async (shape, ctx) => {
  const limit = shape.integer('Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = shape.string('Marker', { min: 1, max: 1024 });
  if (marker !== undefined && !/^[0-9a-f-]{36}$/.test(marker)) throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
  authorizeWithoutKey(ctx, 'kms:ListKeys');
  const keys = ctx.store.keysOf(ctx.caller.account).map((k) => k.keyId).sort();
  const rest = marker === undefined ? keys : keys.filter((id) => id > marker);
  const page = rest.slice(0, limit);
  const truncated = rest.length > page.length;
  const result: Record<string, unknown> = {
    Keys: page.map((id) => ({ KeyId: id, KeyArn: arnOf(ctx.store.getKey(id)!) })),
    Truncated: truncated,
  };
  if (truncated) result['NextMarker'] = page[page.length - 1];
  return result;
};

/** Applies `change` to a copy of the key under the store's write lock, persisting it. */
async function updateKey(ctx: OpContext, keyId: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
  return ctx.store.mutate(async () => {
    const current = ctx.store.getKey(keyId);
    if (current === undefined) throw new KmsFault('NotFoundException', `Key '${keyId}' does not exist`);
    const next = change(current);
    await ctx.store.putKey(next);
    return next;
  });
}

export const enableKey: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:EnableKey');
  await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, state: 'Enabled' };
  });
  return {};
};

export const disableKey: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:DisableKey');
  await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, state: 'Disabled' };
  });
  return {};
};

export const scheduleKeyDeletion: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const days = shape.integer('PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
  authorize(ctx, key, 'kms:ScheduleKeyDeletion');
  const next = await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, state: 'PendingDeletion', deletionDate: ctx.now + days * DAY_MS, pendingWindowInDays: days };
  });
  return { KeyId: arnOf(next), DeletionDate: epochSeconds(next.deletionDate!), KeyState: 'PendingDeletion', PendingWindowInDays: days };
};

/** A key whose deletion is cancelled comes back Disabled, as in KMS. */
export const cancelKeyDeletion: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:CancelKeyDeletion');
  await updateKey(ctx, key.keyId, (k) => {
    if (k.state !== 'PendingDeletion') throw new KmsFault('KMSInvalidStateException', `${arnOf(k)} is not pending deletion.`);
    const { deletionDate: _d, pendingWindowInDays: _p, ...rest } = k;
    return { ...rest, state: 'Disabled' };
  });
  return { KeyId: arnOf(key) };
};

function policyName(shape: RequestShape): void {
  const name = shape.string('PolicyName', { min: 1, max: 128, pattern: POLICY_NAME });
  if (name !== undefined && name !== 'default') throw new KmsFault('NotFoundException', 'No such policy exists');
}

export const getKeyPolicy: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  policyName(shape);
  authorize(ctx, key, 'kms:GetKeyPolicy');
  return { Policy: key.policy, PolicyName: 'default' };
};

export const putKeyPolicy: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  policyName(shape);
  const policy = readPolicy(shape, ctx, true)!;
  authorize(ctx, key, 'kms:PutKeyPolicy');
  lockoutCheck(ctx, shape, { ...key, policy });
  await updateKey(ctx, key.keyId, (k) => ({ ...k, policy }));
  return {};
};
