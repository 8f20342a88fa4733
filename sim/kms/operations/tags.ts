/**
 * Tags: TagResource, UntagResource, ListResourceTags, and the Tags member of CreateKey (KMS API
 * reference; "Tagging keys" in the KMS Developer Guide). A tag key is 1..128 characters, a value
 * 0..256; keys beginning with `aws:` are reserved for AWS (TagException); setting an existing key
 * replaces its value; a key holds at most 50 tags (LimitExceededException).
 * Tag-based conditions (aws:RequestTag, aws:ResourceTag, aws:TagKeys) are not evaluated.
 */
import { KmsFault } from '../errors.js';
import type { KeyTag } from '../key-store.js';
import type { RequestShape } from '../shapes.js';
import { authorize, keyIdMember, requireNotPendingDeletion, resolveKey, updateKey, type Operation } from './context.js';

const TAGS_PER_KEY_MAX = 50;
const LIST_LIMIT_MAX = 50;

/** The Tags member (TagList: {TagKey, TagValue}), validated as KMS validates it. */
export function readTags(shape: RequestShape): KeyTag[] {
  const tags = shape.structureList('Tags').map((t) => ({
    key: t.string('TagKey', { required: true, min: 1, max: 128 }),
    value: t.string('TagValue', { required: true, min: 0, max: 256 }),
  }));
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith('aws:')) throw new KmsFault('TagException', 'Tag keys beginning with aws: are reserved for AWS use.');
    if (seen.has(t.key)) throw new KmsFault('TagException', 'Duplicate tag keys in the request.');
    seen.add(t.key);
  }
  return tags;
}

/** `existing` with `added` applied (new keys appended, existing keys re-valued), within the quota. */
export function mergeTags(existing: readonly KeyTag[], added: readonly KeyTag[]): KeyTag[] {
  const merged = existing.map((t) => ({ ...t }));
  for (const t of added) {
    const found = merged.find((m) => m.key === t.key);
    if (found !== undefined) found.value = t.value;
    else merged.push({ ...t });
  }
  if (merged.length > TAGS_PER_KEY_MAX) {
    throw new KmsFault('LimitExceededException', `A KMS key can have at most ${TAGS_PER_KEY_MAX} tags.`);
  }
  return merged;
}

export const tagResource: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const tags = readTags(shape);
  if (!shape.has('Tags')) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
  }
  authorize(ctx, key, 'kms:TagResource');
  await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, tags: mergeTags(k.tags ?? [], tags) };
  });
  return {};
};

export const untagResource: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  if (!shape.has('TagKeys')) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
  }
  const keys = shape.stringList('TagKeys', { maxItems: TAGS_PER_KEY_MAX });
  for (const k of keys) {
    if (k.length < 1 || k.length > 128) throw new KmsFault('ValidationException', "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 128");
  }
  authorize(ctx, key, 'kms:UntagResource');
  await updateKey(ctx, key.keyId, (k) => {
    requireNotPendingDeletion(k);
    return { ...k, tags: (k.tags ?? []).filter((t) => !keys.includes(t.key)) };
  });
  return {};
};

/** Pages in tag order; the marker is the index of the next tag. */
export const listResourceTags: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const limit = shape.integer('Limit', { min: 1, max: LIST_LIMIT_MAX }) ?? LIST_LIMIT_MAX;
  const marker = shape.string('Marker', { min: 1, max: 1024 });
  authorize(ctx, key, 'kms:ListResourceTags');
  const start = marker === undefined ? 0 : Number(marker);
  if (!Number.isInteger(start) || start < 0 || String(start) !== (marker ?? '0')) {
    throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
  }
  const tags = key.tags ?? [];
  const page = tags.slice(start, start + limit);
  const truncated = start + page.length < tags.length;
  const result: Record<string, unknown> = { Tags: page.map((t) => ({ TagKey: t.key, TagValue: t.value })), Truncated: truncated };
  if (truncated) result['NextMarker'] = String(start + page.length);
  return result;
};
