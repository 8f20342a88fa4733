/**
 * Key management: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
 * CancelKeyDeletion, GetKeyPolicy, PutKeyPolicy. Shapes and limits: botocore
 * kms/2014-11-01/service-2.json; behaviour: the KMS API reference of each operation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EnclaveKitError } from '../../../shared/errors.js';
import { generateMaterial } from '../asymmetric.js';
import { defaultKeyPolicy } from '../default-policy.js';
import { isKeySpec, KEY_SPECS, MODEL_KEY_SPECS, MODEL_KEY_USAGES, type KeySpec, type KeyUsage } from '../key-specs.js';
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
  updateKey,
  type OpContext,
  type Operation,
} from './context.js';
import { mergeTags, readTags } from './tags.js';

const DAY_MS = 86_400_000;
/** Model PolicyType: 1..131072 characters (KMS's own quota, 32 KiB, is checked by the parser). */
const POLICY_RULE = { min: 1, max: 131_072 } as const;
const POLICY_NAME = /^[\w]+$/;

/**
 * KeySpec (or the deprecated CustomerMasterKeySpec) and KeyUsage of a new key, checked against what
 * each spec allows (key-specs.ts). Specs and origins the simulator does not make answer
 * UnsupportedOperationException.
 */
function readKeySpec(shape: RequestShape): { spec: KeySpec; usage: KeyUsage } {
  const spec = shape.enumOf('KeySpec', MODEL_KEY_SPECS);
  const legacy = shape.enumOf('CustomerMasterKeySpec', MODEL_KEY_SPECS.filter((s) => !s.startsWith('ML_DSA') && s !== 'ECC_NIST_EDWARDS25519'));
  const usage = shape.enumOf('KeyUsage', MODEL_KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const origin = shape.enumOf('Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);
  if (spec !== undefined && legacy !== undefined) {
    throw new KmsFault('ValidationException', 'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated.');
  }
  const chosen = spec ?? legacy ?? 'SYMMETRIC_DEFAULT';
  if ((origin !== undefined && origin !== 'AWS_KMS') || shape.boolean('MultiRegion') === true || shape.has('CustomKeyStoreId') || shape.has('XksKeyId')) {
    throw new KmsFault('UnsupportedOperationException', 'The KMS simulator makes keys with AWS_KMS origin in a single region only.');
  }
  if (!isKeySpec(chosen) || usage === 'KEY_AGREEMENT') {
    throw new KmsFault('UnsupportedOperationException', `The KMS simulator does not make ${usage === 'KEY_AGREEMENT' ? 'KEY_AGREEMENT' : chosen} keys.`);
  }
  if (!KEY_SPECS[chosen].usages.includes(usage)) {
    throw new KmsFault('ValidationException', `KeyUsage ${usage} is not compatible with KeySpec ${chosen}`);
  }
  return { spec: chosen, usage };
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
  const { spec, usage } = readKeySpec(shape);
  const description = shape.string('Description', { max: 8192 }) ?? '';
  authorizeWithoutKey(ctx, 'kms:CreateKey');
  const tags = readTags(shape);
  // "To use the Tags parameter, you must have kms:TagResource permission in an IAM policy" (CreateKey).
  if (tags.length > 0) authorizeWithoutKey(ctx, 'kms:TagResource');
  const policy = readPolicy(shape, ctx, false) ?? defaultKeyPolicy(ctx.caller.account);
  const keyId = randomUUID();
  const record: KeyRecord = {
    keyId,
    account: ctx.caller.account,
    region: ctx.region,
    description,
    ...(spec === 'SYMMETRIC_DEFAULT' ? {} : { keySpec: spec, keyUsage: usage }),
    createdAt: ctx.now,
    state: 'Enabled',
    rotationEnabled: false,
    policy,
    ...(tags.length > 0 ? { tags: mergeTags([], tags) } : {}),
    versions: [{ materialId: randomBytes(32).toString('hex'), material: generateMaterial(spec), createdAt: ctx.now }],
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

export const updateKeyDescription: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const description = shape.string('Description', { required: true, min: 0, max: 8192 });
  authorize(ctx, key, 'kms:UpdateKeyDescription');
  await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, description };
  });
  return {};
};

/** A KMS key has one key policy, named `default` (ListKeyPolicies API reference). */
export const listKeyPolicies: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  shape.integer('Limit', { min: 1, max: 1000 });
  const marker = shape.string('Marker', { min: 1, max: 1024 });
  if (marker !== undefined) throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
  authorize(ctx, key, 'kms:ListKeyPolicies');
  return { PolicyNames: ['default'], Truncated: false };
};
