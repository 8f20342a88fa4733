/**
 * The Parameter Store's durable state, DIR/ssm/parameters.json (0600), through JsonStateFile.
 * Every version of every parameter is kept (up to 100, as SSM keeps them). A SecureString value is
 * stored as the KMS simulator's CiphertextBlob (base64) under the caller's key with the encryption
 * context {"PARAMETER_ARN": ARN}; only a SecureString under the AWS managed key (no KeyId) is kept
 * as given, because the simulator has no AWS managed key (sim/ssm/README.md).
 */
import { join } from 'node:path';
import { JsonStateFile } from '../json-service/state-file.js';

export const PARAMETER_TYPES = ['String', 'StringList', 'SecureString'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export const TIERS = ['Standard', 'Advanced', 'Intelligent-Tiering'] as const;
export type Tier = 'Standard' | 'Advanced';

export interface ParameterVersion {
  version: number;
  type: ParameterType;
  /** Plain text, or for a SecureString under a customer key the base64 CiphertextBlob. */
  value: string;
  /** SecureString: the KeyId as given (or `alias/aws/ssm`), and the key ARN for a customer key. */
  keyId?: string;
  keyArn?: string;
  description?: string;
  allowedPattern?: string;
  tier: Tier;
  dataType: string;
  labels: string[];
  /** ms since the epoch. */
  lastModifiedDate: number;
  lastModifiedUser: string;
}

export interface ParameterRecord {
  account: string;
  name: string;
  versions: ParameterVersion[];
  tags: { Key: string; Value: string }[];
}

export interface SsmState {
  format: 1;
  /** Key: `<account>/<name>`. */
  parameters: Record<string, ParameterRecord>;
}

export function recordKey(account: string, name: string): string {
  return `${account}/${name}`;
}

function validate(raw: unknown): SsmState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const s = raw as Partial<SsmState>;
  if (s.format !== 1 || typeof s.parameters !== 'object' || s.parameters === null) return null;
  for (const p of Object.values(s.parameters)) {
    if (typeof p?.name !== 'string' || typeof p.account !== 'string' || !Array.isArray(p.versions) || p.versions.length === 0) return null;
    if (!p.versions.every((v) => typeof v.version === 'number' && typeof v.value === 'string' && Array.isArray(v.labels))) return null;
  }
  return s as SsmState;
}

export function ssmStatePath(stateDir: string): string {
  return join(stateDir, 'ssm', 'parameters.json');
}

export function openSsmState(stateDir: string): Promise<JsonStateFile<SsmState>> {
  return JsonStateFile.open(ssmStatePath(stateDir), () => ({ format: 1, parameters: {} }), validate);
}
