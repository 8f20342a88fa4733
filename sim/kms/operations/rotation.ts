/**
 * Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand.
 * Rotation adds a key material version; ciphertext blobs name their version, so everything
 * encrypted before keeps decrypting (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
 * Automatic rotation is applied lazily: the first request after `nextRotationDate` adds the version.
 */
import { randomBytes } from 'node:crypto';
import { KmsFault } from '../errors.js';
import type { KeyRecord, KeyStore } from '../key-store.js';
import { arnOf, authorize, epochSeconds, keyIdMember, requireEnabled, resolveKey, specOf, type Operation } from './context.js';

const DAY_MS = 86_400_000;
/** RotateKeyOnDemand: at most 10 on-demand rotations per key (KMS quota). */
const MAX_ON_DEMAND_ROTATIONS = 10;

/**
 * Only symmetric encryption keys rotate: "You cannot enable automatic rotation of asymmetric KMS
 * keys, HMAC KMS keys, ..." (EnableKeyRotation API reference); the same holds for on-demand rotation.
 */
function requireRotatable(key: KeyRecord): void {
  if (specOf(key) !== 'SYMMETRIC_DEFAULT') {
    throw new KmsFault('UnsupportedOperationException', `${arnOf(key)} key type is not supported for this operation: only symmetric encryption keys rotate.`);
  }
}

function newVersion(now: number): KeyRecord['versions'][number] {
  return { materialId: randomBytes(32).toString('hex'), material: randomBytes(32), createdAt: now };
}

export const enableKeyRotation: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const period = shape.integer('RotationPeriodInDays', { min: 90, max: 2560 }) ?? 365;
  authorize(ctx, key, 'kms:EnableKeyRotation');
  requireRotatable(key);
  requireEnabled(key);
  await ctx.store.mutate(async () => {
    const k = ctx.store.getKey(key.keyId) ?? key;
    await ctx.store.putKey({ ...k, rotationEnabled: true, rotationPeriodInDays: period, nextRotationDate: ctx.now + period * DAY_MS });
  });
  return {};
};

export const disableKeyRotation: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:DisableKeyRotation');
  requireRotatable(key);
  requireEnabled(key);
  await ctx.store.mutate(async () => {
    const { nextRotationDate: _n, ...k } = ctx.store.getKey(key.keyId) ?? key;
    await ctx.store.putKey({ ...k, rotationEnabled: false });
  });
  return {};
};

export const getKeyRotationStatus: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:GetKeyRotationStatus');
  requireRotatable(key);
  const result: Record<string, unknown> = { KeyId: arnOf(key), KeyRotationEnabled: key.rotationEnabled };
  if (key.rotationEnabled && key.rotationPeriodInDays !== undefined) result['RotationPeriodInDays'] = key.rotationPeriodInDays;
  if (key.rotationEnabled && key.nextRotationDate !== undefined) result['NextRotationDate'] = epochSeconds(key.nextRotationDate);
  return result;
};

export const rotateKeyOnDemand: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  authorize(ctx, key, 'kms:RotateKeyOnDemand');
  requireRotatable(key);
  requireEnabled(key);
  await ctx.store.mutate(async () => {
    const k = ctx.store.getKey(key.keyId) ?? key;
    const done = k.onDemandRotations ?? 0;
    if (done >= MAX_ON_DEMAND_ROTATIONS) {
      throw new KmsFault('LimitExceededException', `${arnOf(k)} has reached the limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations.`);
    }
    await ctx.store.putKey({ ...k, onDemandRotations: done + 1, versions: [...k.versions, newVersion(ctx.now)] });
  });
  return { KeyId: arnOf(key) };
};

/**
 * Housekeeping before each request: automatic rotations that are due, and keys whose deletion
 * waiting period has ended (deleted with their aliases, as KMS does).
 */
export async function applyScheduledChanges(store: KeyStore, now: number): Promise<void> {
  const due = store.allKeys().filter(
    (k) => (k.state === 'PendingDeletion' && k.deletionDate !== undefined && k.deletionDate <= now) ||
      (k.state === 'Enabled' && k.rotationEnabled && k.nextRotationDate !== undefined && k.nextRotationDate <= now),
  );
  if (due.length === 0) return;
  await store.mutate(async () => {
    for (const { keyId } of due) {
      const k = store.getKey(keyId);
      if (k === undefined) continue;
      if (k.state === 'PendingDeletion' && k.deletionDate !== undefined && k.deletionDate <= now) {
        await store.deleteKey(keyId);
      } else if (k.state === 'Enabled' && k.rotationEnabled && k.nextRotationDate !== undefined && k.nextRotationDate <= now) {
        const period = (k.rotationPeriodInDays ?? 365) * DAY_MS;
        // One new version even if several periods passed while the simulator was stopped.
        const next = k.nextRotationDate + Math.ceil((now - k.nextRotationDate + 1) / period) * period;
        await store.putKey({ ...k, nextRotationDate: next, versions: [...k.versions, newVersion(now)] });
      }
    }
  });
}
