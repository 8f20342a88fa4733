/**
 * Parameter Store's `/aws/reference/secretsmanager/<secret-id>[:<stage or version id>]` reads this
 * simulator's secrets ("Referencing AWS Secrets Manager secrets from Parameter Store parameters",
 * AWS Systems Manager User Guide). The SSM simulator runs in another process, so it reads the state
 * file as written; the caller needs secretsmanager:GetSecretValue on the secret (and kms:Decrypt on
 * its key) besides the SSM permission.
 */
import { authorizeIdentity, type ServiceCaller } from '../json-service/caller.js';
import { JsonStateFile } from '../json-service/state-file.js';
import { describeSecret, findSecret, markedForDeletion, secretBytes, secretsKmsAccess, versionFor } from './lookup.js';
import { AWSCURRENT, secretsStatePath, validateSecretsState } from './store.js';

export interface SecretReference {
  arn: string;
  /** SecretString, or a SecretBinary in base64. */
  value: string;
  createdDate: number;
  /** DescribeSecret's answer, which SSM returns as SourceResult. */
  sourceResult: Record<string, unknown>;
}

/** undefined when no such secret exists (SSM then answers ParameterNotFound / InvalidParameters). */
export async function readSecretReference(
  stateDir: string,
  region: string,
  caller: ServiceCaller,
  secretId: string,
  stageOrVersion: string | undefined,
  now: number,
): Promise<SecretReference | undefined> {
  const state = await JsonStateFile.peek(secretsStatePath(stateDir), validateSecretsState);
  const record = state === null ? undefined : findSecret(state, caller.account, secretId, now);
  if (record === undefined) return undefined;
  authorizeIdentity(caller, 'secretsmanager:GetSecretValue', record.arn);
  if (record.deletionDate !== undefined) throw markedForDeletion();
  const byVersion = stageOrVersion !== undefined && record.versions.some((v) => v.versionId === stageOrVersion);
  const version = byVersion ? versionFor(record, stageOrVersion, undefined) : versionFor(record, undefined, stageOrVersion ?? AWSCURRENT);
  const bytes = await secretBytes(secretsKmsAccess(stateDir, region, caller), record, version);
  try {
    return {
      arn: record.arn,
      value: version.kind === 'string' ? bytes.toString('utf8') : bytes.toString('base64'),
      createdDate: version.createdDate,
      sourceResult: describeSecret(record, 'VersionIdsToStages'),
    };
  } finally {
    bytes.fill(0);
  }
}
