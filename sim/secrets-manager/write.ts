/**
 * Secrets Manager writes: CreateSecret, PutSecretValue, UpdateSecretVersionStage, DeleteSecret,
 * RestoreSecret (Secrets Manager API Reference). Staging labels: a label is on at most one version;
 * moving AWSCURRENT moves AWSPREVIOUS to the version that had AWSCURRENT; a version with no label
 * is deprecated and, past 100 versions, dropped oldest first ("Secrets Manager quotas").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsFault } from '../json-service/fault.js';
import type { JsonOperation } from '../json-service/handler.js';
import { authorizeIdentity, type ServiceCaller } from '../json-service/caller.js';
import { sealUnderKmsKey } from '../json-service/kms-key.js';
import type { RequestShape } from '../kms/shapes.js';
import { findSecret, markedForDeletion, notFound, secretBytes, secretsKmsAccess } from './lookup.js';
import { AWSCURRENT, AWSPREVIOUS, purgeExpired, type SecretRecord, type SecretVersion } from './store.js';
import type { SecretsContext } from './context.js';

export const SECRET_VALUE_MAX = 65_536;
export const MAX_VERSIONS = 100;
export const RECOVERY_DAYS_MIN = 7;
export const RECOVERY_DAYS_MAX = 30;
const DAY_MS = 86_400_000;
const NAME = /^[A-Za-z0-9/_+=.@-]+$/;
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function invalidParameter(message: string): AwsFault {
  return new AwsFault('InvalidParameterException', message);
}

/** The ARN ends in `-` and six random characters, so a re-created name gets a new ARN. */
function secretArn(region: string, account: string, name: string): string {
  const suffix = [...randomBytes(6)].map((b) => SUFFIX_CHARS[b % SUFFIX_CHARS.length]).join('');
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
}

interface ValueInput { kind: 'string' | 'binary'; bytes: Buffer }

function readValue(shape: RequestShape): ValueInput | undefined {
  const text = shape.string('SecretString', { min: 1, max: SECRET_VALUE_MAX });
  const binary = shape.blob('SecretBinary', { min: 1, max: SECRET_VALUE_MAX });
  if (text !== undefined && binary !== undefined) {
    binary.fill(0);
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (text !== undefined) return { kind: 'string', bytes: Buffer.from(text, 'utf8') };
  if (binary !== undefined) return { kind: 'binary', bytes: binary };
  return undefined;
}

function clientToken(shape: RequestShape): string {
  return shape.string('ClientRequestToken', { min: 32, max: 64 }) ?? randomUUID();
}

async function sealValue(ctx: SecretsContext, caller: ServiceCaller, record: SecretRecord, versionId: string, input: ValueInput): Promise<Pick<SecretVersion, 'value' | 'sealed'>> {
  if (record.kmsKeyId === undefined) {
    const value = input.bytes.toString('base64');
    input.bytes.fill(0);
    return { value, sealed: false };
  }
  const sealed = await sealUnderKmsKey(secretsKmsAccess(ctx.stateDir, ctx.region, caller), record.kmsKeyId, { SecretARN: record.arn, SecretVersionId: versionId }, input.bytes, 'kms:GenerateDataKey');
  return { value: sealed.blob.toString('base64'), sealed: true };
}

/** Puts `stages` on `target`, taking them off every other version; AWSCURRENT's old holder gets AWSPREVIOUS. */
function attachStages(record: SecretRecord, target: SecretVersion, stages: readonly string[]): void {
  for (const stage of stages) {
    const holder = record.versions.find((v) => v !== target && v.stages.includes(stage));
    if (holder !== undefined) holder.stages = holder.stages.filter((s) => s !== stage);
    if (!target.stages.includes(stage)) target.stages.push(stage);
    if (stage === AWSCURRENT && holder !== undefined) {
      for (const v of record.versions) v.stages = v.stages.filter((s) => s !== AWSPREVIOUS);
      holder.stages.push(AWSPREVIOUS);
    }
  }
  while (record.versions.length > MAX_VERSIONS) {
    const index = record.versions.findIndex((v) => v.stages.length === 0);
    if (index === -1) break;
    record.versions.splice(index, 1);
  }
}

function liveSecret(record: SecretRecord | undefined): SecretRecord {
  if (record === undefined) throw notFound();
  if (record.deletionDate !== undefined) throw markedForDeletion();
  return record;
}

async function sameValue(ctx: SecretsContext, caller: ServiceCaller, record: SecretRecord, version: SecretVersion, input: ValueInput): Promise<boolean> {
  const existing = await secretBytes(secretsKmsAccess(ctx.stateDir, ctx.region, caller), record, version);
  try {
    return version.kind === input.kind && existing.equals(input.bytes);
  } finally {
    existing.fill(0);
  }
}

export function createSecret(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const name = shape.string('Name', { required: true, min: 1, max: 512 });
    if (!NAME.test(name)) throw new AwsFault('ValidationException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    const description = shape.string('Description', { min: 0, max: 2048 });
    const kmsKeyId = shape.string('KmsKeyId', { min: 0, max: 2048 });
    const tags = shape.structureList('Tags').map((t) => ({ Key: t.string('Key', { required: true, min: 1, max: 128 }), Value: t.string('Value', { required: true, min: 0, max: 256 }) }));
    const versionId = clientToken(shape);
    const input = readValue(shape);
    try {
      return await ctx.state.mutate(async (draft) => {
        purgeExpired(draft, now);
        const same = Object.values(draft.secrets).find((r) => r.account === caller.account && r.name === name);
        const arn = same?.arn ?? secretArn(ctx.region, caller.account, name);
        authorizeIdentity(caller, 'secretsmanager:CreateSecret', arn);
        if (tags.length > 0) authorizeIdentity(caller, 'secretsmanager:TagResource', arn);
        if (same !== undefined) {
          if (same.deletionDate !== undefined) throw new AwsFault('InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
          throw new AwsFault('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
        }
        const record: SecretRecord = { account: caller.account, name, arn, createdDate: now, lastChangedDate: now, tags, versions: [] };
        if (description !== undefined) record.description = description;
        if (kmsKeyId !== undefined && kmsKeyId !== '' && kmsKeyId !== 'alias/aws/secretsmanager') record.kmsKeyId = kmsKeyId;
        const result: Record<string, unknown> = { ARN: arn, Name: name };
        if (input !== undefined) {
          const version: SecretVersion = { versionId, stages: [], createdDate: now, kind: input.kind, ...(await sealValue(ctx, caller, record, versionId, input)) };
          record.versions.push(version);
          attachStages(record, version, [AWSCURRENT]);
          result['VersionId'] = versionId;
        }
        draft.secrets[arn] = record;
        return result;
      });
    } finally {
      input?.bytes.fill(0);
    }
  };
}

export function putSecretValue(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    const versionId = clientToken(shape);
    const stagesGiven = shape.stringList('VersionStages', { maxItems: 20 });
    const stages = stagesGiven.length === 0 ? [AWSCURRENT] : stagesGiven;
    const input = readValue(shape);
    if (input === undefined) throw invalidParameter('You must provide either SecretString or SecretBinary.');
    try {
      return await ctx.state.mutate(async (draft) => {
        const record = liveSecret(findSecret(draft, caller.account, secretId, now));
        authorizeIdentity(caller, 'secretsmanager:PutSecretValue', record.arn);
        const existing = record.versions.find((v) => v.versionId === versionId);
        if (existing !== undefined) {
          // A retried request (same token, same value) is answered again; another value is refused.
          if (!(await sameValue(ctx, caller, record, existing, input))) {
            throw new AwsFault('ResourceExistsException', 'A resource with the ID you requested already exists.');
          }
          return { ARN: record.arn, Name: record.name, VersionId: versionId, VersionStages: [...existing.stages] };
        }
        const version: SecretVersion = { versionId, stages: [], createdDate: now, kind: input.kind, ...(await sealValue(ctx, caller, record, versionId, input)) };
        record.versions.push(version);
        attachStages(record, version, stages);
        record.lastChangedDate = now;
        return { ARN: record.arn, Name: record.name, VersionId: versionId, VersionStages: [...version.stages] };
      });
    } finally {
      input.bytes.fill(0);
    }
  };
}

export function updateSecretVersionStage(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    const stage = shape.string('VersionStage', { required: true, min: 1, max: 256 });
    const removeFrom = shape.string('RemoveFromVersionId', { min: 32, max: 64 });
    const moveTo = shape.string('MoveToVersionId', { min: 32, max: 64 });
    return ctx.state.mutate((draft) => {
      const record = liveSecret(findSecret(draft, caller.account, secretId, now));
      authorizeIdentity(caller, 'secretsmanager:UpdateSecretVersionStage', record.arn);
      const byId = (id: string): SecretVersion => {
        const v = record.versions.find((x) => x.versionId === id);
        if (v === undefined) throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${id}`);
        return v;
      };
      const holder = record.versions.find((v) => v.stages.includes(stage));
      const target = moveTo === undefined ? undefined : byId(moveTo);
      const source = removeFrom === undefined ? undefined : byId(removeFrom);
      if (source !== undefined && source !== holder) {
        throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}, so you can't remove it.`);
      }
      if (target !== undefined && holder !== undefined && holder !== target && source !== holder) {
        throw invalidParameter(`The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`);
      }
      if (target === undefined && stage === AWSCURRENT && source !== undefined) {
        throw invalidParameter(`You can't remove the staging label ${AWSCURRENT} from a version without moving it to another version.`);
      }
      if (target !== undefined) attachStages(record, target, [stage]);
      else if (source !== undefined) source.stages = source.stages.filter((s) => s !== stage);
      record.lastChangedDate = now;
      return { ARN: record.arn, Name: record.name };
    });
  };
}

export function deleteSecret(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    const days = shape.integer('RecoveryWindowInDays', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    const force = shape.boolean('ForceDeleteWithoutRecovery') === true;
    if (force && days !== undefined) throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    if (days !== undefined && (days < RECOVERY_DAYS_MIN || days > RECOVERY_DAYS_MAX)) {
      throw invalidParameter(`The RecoveryWindowInDays value must be between ${RECOVERY_DAYS_MIN} and ${RECOVERY_DAYS_MAX} days (inclusive).`);
    }
    return ctx.state.mutate((draft) => {
      purgeExpired(draft, now);
      const record = findSecret(draft, caller.account, secretId, now);
      if (record === undefined) throw notFound();
      authorizeIdentity(caller, 'secretsmanager:DeleteSecret', record.arn);
      if (force) {
        delete draft.secrets[record.arn];
        return { ARN: record.arn, Name: record.name, DeletionDate: now / 1000 };
      }
      if (record.deletionDate !== undefined) {
        throw new AwsFault('InvalidRequestException', "You can't perform this operation on the secret because it was already scheduled for deletion.");
      }
      record.deletedDate = now;
      record.deletionDate = now + (days ?? RECOVERY_DAYS_MAX) * DAY_MS;
      return { ARN: record.arn, Name: record.name, DeletionDate: record.deletionDate / 1000 };
    });
  };
}

export function restoreSecret(ctx: SecretsContext): JsonOperation {
  return async (shape, caller, now) => {
    const secretId = shape.string('SecretId', { required: true, min: 1, max: 2048 });
    return ctx.state.mutate((draft) => {
      purgeExpired(draft, now);
      const record = findSecret(draft, caller.account, secretId, now);
      if (record === undefined) throw notFound();
      authorizeIdentity(caller, 'secretsmanager:RestoreSecret', record.arn);
      delete record.deletionDate;
      delete record.deletedDate;
      return { ARN: record.arn, Name: record.name };
    });
  };
}
