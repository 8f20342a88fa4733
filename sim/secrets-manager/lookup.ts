/**
 * Finding a secret by SecretId (name, full ARN, or partial ARN without the random suffix:
 * "Secret ARN and name", Secrets Manager User Guide), its versions by VersionId / VersionStage, and
 * its value, decrypted with the caller's own kms:Decrypt through Secrets Manager.
 */
import { join } from 'node:path';
import { AwsFault } from '../json-service/fault.js';
import type { ServiceCaller } from '../json-service/caller.js';
import { openUnderKmsKey, type KmsKeyAccess } from '../json-service/kms-key.js';
import { AWSCURRENT, type SecretRecord, type SecretsState, type SecretVersion } from './store.js';

export function notFound(): AwsFault {
  return new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

export function markedForDeletion(): AwsFault {
  return new AwsFault('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
}

export function secretsKmsAccess(stateDir: string, region: string, caller: ServiceCaller): KmsKeyAccess {
  return { kmsDir: join(stateDir, 'kms'), region, caller, viaService: `secretsmanager.${region}.amazonaws.com`, notFoundType: 'KMSInvalidStateException' };
}

/** The secret a SecretId names in the caller's account, or undefined. Expired secrets are gone. */
export function findSecret(state: SecretsState, account: string, secretId: string, now: number): SecretRecord | undefined {
  const live = Object.values(state.secrets).filter((r) => r.account === account && (r.deletionDate === undefined || r.deletionDate > now));
  if (secretId.startsWith('arn:')) {
    return live.find((r) => r.arn === secretId) ?? live.find((r) => r.arn.slice(0, -7) === secretId);
  }
  return live.find((r) => r.name === secretId);
}

export function versionFor(record: SecretRecord, versionId: string | undefined, stage: string | undefined): SecretVersion {
  if (versionId !== undefined) {
    const v = record.versions.find((x) => x.versionId === versionId);
    if (v === undefined) throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    if (stage !== undefined && !v.stages.includes(stage)) {
      throw new AwsFault('InvalidRequestException', `You provided a VersionStage that is not associated to the provided VersionId.`);
    }
    return v;
  }
  const label = stage ?? AWSCURRENT;
  const v = record.versions.find((x) => x.stages.includes(label));
  if (v === undefined) throw new AwsFault('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
  return v;
}

/** The version's bytes (the caller zeroes them), decrypting with the caller's kms:Decrypt. */
export async function secretBytes(access: KmsKeyAccess, record: SecretRecord, version: SecretVersion): Promise<Buffer> {
  const stored = Buffer.from(version.value, 'base64');
  if (!version.sealed) return stored;
  return openUnderKmsKey(access, stored, { SecretARN: record.arn, SecretVersionId: version.versionId });
}

/** GetSecretValue's answer for one version. */
export async function secretValueResult(access: KmsKeyAccess, record: SecretRecord, version: SecretVersion): Promise<Record<string, unknown>> {
  const bytes = await secretBytes(access, record, version);
  const out: Record<string, unknown> = {
    ARN: record.arn,
    Name: record.name,
    VersionId: version.versionId,
    VersionStages: [...version.stages],
    CreatedDate: version.createdDate / 1000,
  };
  try {
    if (version.kind === 'string') out['SecretString'] = bytes.toString('utf8');
    else out['SecretBinary'] = bytes.toString('base64');
  } finally {
    bytes.fill(0);
  }
  return out;
}

/** DescribeSecret's answer (also ListSecrets entries, with SecretVersionsToStages). */
export function describeSecret(record: SecretRecord, versionsMember: 'VersionIdsToStages' | 'SecretVersionsToStages'): Record<string, unknown> {
  const stages: Record<string, string[]> = {};
  for (const v of record.versions) if (v.stages.length > 0) stages[v.versionId] = [...v.stages];
  const out: Record<string, unknown> = {
    ARN: record.arn,
    Name: record.name,
    RotationEnabled: false,
    LastChangedDate: record.lastChangedDate / 1000,
    Tags: record.tags,
    [versionsMember]: stages,
    CreatedDate: record.createdDate / 1000,
  };
  if (record.description !== undefined) out['Description'] = record.description;
  if (record.kmsKeyId !== undefined) out['KmsKeyId'] = record.kmsKeyId;
  if (record.deletedDate !== undefined) out['DeletedDate'] = record.deletedDate / 1000;
  return out;
}
