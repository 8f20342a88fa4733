/**
 * Secrets Manager's durable state, DIR/secretsmanager/secrets.json (0600), through JsonStateFile.
 * A version's value is the KMS simulator's CiphertextBlob (base64) under the secret's KmsKeyId with
 * the encryption context {"SecretARN", "SecretVersionId"}; for a secret under the AWS managed key
 * (no KmsKeyId) it is the value's bytes in base64, because the simulator has no AWS managed key.
 */
import { join } from 'node:path';
import { JsonStateFile } from '../json-service/state-file.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

export interface SecretVersion {
  versionId: string;
  stages: string[];
  /** ms since the epoch. */
  createdDate: number;
  kind: 'string' | 'binary';
  /** base64: a CiphertextBlob when `sealed`, else the value's bytes. */
  value: string;
  sealed: boolean;
}

export interface SecretRecord {
  account: string;
  name: string;
  arn: string;
  description?: string;
  /** As given in CreateSecret; absent: the AWS managed key aws/secretsmanager. */
  kmsKeyId?: string;
  createdDate: number;
  lastChangedDate: number;
  /** Scheduled deletion: the time the secret is purged. */
  deletionDate?: number;
  /** When DeleteSecret was called (DescribeSecret's DeletedDate). */
  deletedDate?: number;
  tags: { Key: string; Value: string }[];
  /** Oldest first. */
  versions: SecretVersion[];
}

export interface SecretsState {
  format: 1;
  /** Key: the secret ARN. */
  secrets: Record<string, SecretRecord>;
}

export function validateSecretsState(raw: unknown): SecretsState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const s = raw as Partial<SecretsState>;
  if (s.format !== 1 || typeof s.secrets !== 'object' || s.secrets === null) return null;
  for (const r of Object.values(s.secrets)) {
    if (typeof r?.arn !== 'string' || typeof r.name !== 'string' || typeof r.account !== 'string' || !Array.isArray(r.versions)) return null;
    if (!r.versions.every((v) => typeof v.versionId === 'string' && Array.isArray(v.stages) && typeof v.value === 'string')) return null;
  }
  return s as SecretsState;
}

export function secretsStatePath(stateDir: string): string {
  return join(stateDir, 'secretsmanager', 'secrets.json');
}

export function openSecretsState(stateDir: string): Promise<JsonStateFile<SecretsState>> {
  return JsonStateFile.open(secretsStatePath(stateDir), () => ({ format: 1, secrets: {} }), validateSecretsState);
}

/** Drops secrets whose recovery window has ended (AWS purges them then). */
export function purgeExpired(state: SecretsState, now: number): void {
  for (const [arn, r] of Object.entries(state.secrets)) {
    if (r.deletionDate !== undefined && r.deletionDate <= now) delete state.secrets[arn];
  }
}
