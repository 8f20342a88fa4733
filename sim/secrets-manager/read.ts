/**
 * Secrets Manager reads: GetSecretValue (VersionId / VersionStage, default AWSCURRENT),
 * DescribeSecret, ListSecrets (Filters on name, description, tag-key, tag-value; paging). A secret
 * scheduled for deletion answers GetSecretValue with InvalidRequestException and is listed only with
 * IncludePlannedDeletion.
 */
import { AwsFault } from '../json-service/fault.js';
import type { JsonOperation } from '../json-service/handler.js';
import { authorizeIdentity } from '../json-service/caller.js';
import { describeSecret, findSecret, markedForDeletion, notFound, secretsKmsAccess, secretValueResult, versionFor } from './lookup.js';
import type { SecretRecord } from './store.js';
import type { SecretsContext } from './context.js';

export const LIST_PAGE_MAX = 100;
const FILTER_KEYS = ['name', 'description', 'tag-key', 'tag-value', 'all'] as const;

export function getSecretValue(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    const versionId = shape.string('VersionId', { min: 32, max: 64 });
    const stage = shape.string('VersionStage', { min: 1, max: 256 });
    const record = findSecret(ctx.state.current, caller.account, secretId, now);
    if (record === undefined) throw notFound();
    authorizeIdentity(caller, 'secretsmanager:GetSecretValue', record.arn);
    if (record.deletionDate !== undefined) throw markedForDeletion();
    return secretValueResult(secretsKmsAccess(ctx.stateDir, ctx.region, caller), record, versionFor(record, versionId, stage));
  };
}

export function describeSecretOperation(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    const record = findSecret(ctx.state.current, caller.account, secretId, now);
    if (record === undefined) throw notFound();
    authorizeIdentity(caller, 'secretsmanager:DescribeSecret', record.arn);
    return describeSecret(record, 'VersionIdsToStages');
  };
}

type Filter = { key: (typeof FILTER_KEYS)[number]; values: string[] };

/** A value that starts with `!` negates ("ListSecrets", Filters); matching is by prefix, as AWS does. */
function matchesValue(candidates: readonly string[], value: string): boolean {
  const negate = value.startsWith('!');
  const prefix = negate ? value.slice(1) : value;
  const hit = candidates.some((c) => c.toLowerCase().startsWith(prefix.toLowerCase()));
  return negate ? !hit : hit;
}

function matches(record: SecretRecord, filter: Filter): boolean {
  const fields: Record<Filter['key'], string[]> = {
    name: [record.name],
    description: record.description === undefined ? [] : [record.description],
    'tag-key': record.tags.map((t) => t.Key),
    'tag-value': record.tags.map((t) => t.Value),
    all: [record.name, ...(record.description === undefined ? [] : [record.description]), ...record.tags.flatMap((t) => [t.Key, t.Value])],
  };
  return filter.values.some((v) => matchesValue(fields[filter.key], v));
}

export function listSecrets(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const max = shape.integer('MaxResults', { min: 1, max: LIST_PAGE_MAX }) ?? LIST_PAGE_MAX;
    const token = shape.string('NextToken', { min: 1, max: 4096 });
    const includeDeleted = shape.boolean('IncludePlannedDeletion') === true;
    const order = shape.enumOf('SortOrder', ['asc', 'desc'] as const) ?? 'asc';
    const filters: Filter[] = shape.structureList('Filters').map((f) => {
      const key = f.enumOf('Key', FILTER_KEYS);
      if (key === undefined) throw new AwsFault('InvalidParameterException', 'A filter needs a Key.');
      return { key, values: f.stringList('Values', { maxItems: 10 }) };
    });
    authorizeIdentity(caller, 'secretsmanager:ListSecrets', '*');
    let start = 0;
    if (token !== undefined) {
      start = Number(Buffer.from(token, 'base64').toString('utf8'));
      if (!Number.isInteger(start) || start < 0) throw new AwsFault('InvalidNextTokenException', 'The NextToken value is invalid.');
    }
    const all = Object.values(ctx.state.current.secrets)
      .filter((r) => r.account === caller.account && (r.deletionDate === undefined || (includeDeleted && r.deletionDate > now)))
      .filter((r) => filters.every((f) => matches(r, f)))
      .sort((a, b) => (a.createdDate - b.createdDate || (a.name < b.name ? -1 : 1)) * (order === 'asc' ? 1 : -1));
    const page = all.slice(start, start + max);
    const result: Record<string, unknown> = { SecretList: page.map((r) => describeSecret(r, 'SecretVersionsToStages')) };
    if (start + max < all.length) result['NextToken'] = Buffer.from(String(start + max), 'utf8').toString('base64');
    return result;
  };
}
