/**
 * The simulator state directory (`enclavekit sim init --state DIR`):
 *
 *   DIR/sim.json           {"version": 1, "account": "111122223333", "region": "us-east-1"}
 *   DIR/root.pem           the simulated Nitro root certificate (give it to verifiers explicitly)
 *   DIR/pki/…              CA keys and certificates (sim/pki/store.ts), keys 0600
 *   DIR/credentials.json   [{arn, accessKeyId, secretAccessKey, identityPolicies}] for role/admin,
 *                          role/enclave and role/client (the KMS simulator verifies SigV4 with them
 *                          and evaluates the IAM identity policies: sim/iam/default-policies.ts), 0600
 *
 * Initialisation is idempotent: an existing root and existing credentials are kept, missing
 * pieces are added (including the default identity policies of a known role that has none).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ServiceError } from '../shared/errors.js';
import { PUBLIC_FILE_MODE, SECRET_DIR_MODE, SECRET_FILE_MODE, ensureDir, readTextIfExists, writeFileAtomic } from './pki/files.js';
import { SimPki } from './pki/index.js';
import { SIM_REGION_DEFAULT } from './pki/profile.js';
import { rootCertPath } from './pki/store.js';
import { DEFAULT_IDENTITY_POLICIES, type PolicyDocument } from './iam/default-policies.js';

/** The account AWS uses in its own documentation examples. */
export const DEFAULT_ACCOUNT = '111122223333';

/** The roles `sim init` creates credentials for. */
export const SIM_ROLE_NAMES = ['admin', 'enclave', 'client'] as const;
export type SimRoleName = (typeof SIM_ROLE_NAMES)[number];

export interface SimPrincipal {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * IAM identity-based policy documents attached to the principal. Absent or empty: the principal
   * has no IAM permissions (only key policies that name it directly let it use a key).
   */
  identityPolicies?: readonly PolicyDocument[];
}

export interface SimConfig {
  version: 1;
  account: string;
  region: string;
}

export interface InitSimStateOptions {
  /** 12-digit AWS account id; default DEFAULT_ACCOUNT. Must match an existing state's account. */
  account?: string;
  /** Creation time of a new root, ms since the epoch; default Date.now(). Tests pin it. */
  now?: number;
}

export interface InitSimStateResult {
  /** True when this call made a new root (false: an existing one was kept). */
  createdRoot: boolean;
  account: string;
  rootPemPath: string;
}

export function simRootPemPath(dir: string): string {
  return rootCertPath(dir);
}

export function simConfigPath(dir: string): string {
  return join(dir, 'sim.json');
}

export function credentialsPath(dir: string): string {
  return join(dir, 'credentials.json');
}

export function simRoleArn(account: string, role: string): string {
  return `arn:aws:iam::${account}:role/${role}`;
}

const ACCOUNT = /^\d{12}$/;
/** Upper-case letters and digits 2-7: the alphabet of real AKIA… key ids. */
const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomString(alphabet: string, length: number): string {
  // Both alphabets have a power-of-two size (32, 64), so `byte % size` is unbiased.
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  bytes.fill(0);
  return out;
}

function newPrincipal(arn: string): SimPrincipal {
  return {
    arn,
    accessKeyId: `AKIA${randomString(KEY_ID_ALPHABET, 16)}`,
    secretAccessKey: randomString(SECRET_ALPHABET, 40),
  };
}

function isPolicyDocument(value: unknown): value is PolicyDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrincipal(value: unknown): value is SimPrincipal {
  if (typeof value !== 'object' || value === null) return false;
  const { arn, accessKeyId, secretAccessKey, identityPolicies } = value as Record<string, unknown>;
  return typeof arn === 'string' && typeof accessKeyId === 'string' && typeof secretAccessKey === 'string' &&
    (identityPolicies === undefined || (Array.isArray(identityPolicies) && identityPolicies.every(isPolicyDocument)));
}

function parseCredentials(text: string, dir: string): SimPrincipal[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ServiceError('ERR_SIM_STATE', `credentials.json in ${dir} is not JSON`, { cause });
  }
  if (!Array.isArray(parsed) || !parsed.every(isPrincipal)) {
    throw new ServiceError('ERR_SIM_STATE', `credentials.json in ${dir} is not a list of {arn, accessKeyId, secretAccessKey, identityPolicies?}`);
  }
  return parsed.map(({ arn, accessKeyId, secretAccessKey, identityPolicies }) =>
    (identityPolicies === undefined ? { arn, accessKeyId, secretAccessKey } : { arn, accessKeyId, secretAccessKey, identityPolicies }));
}

/** The simulated principals of a state directory. */
export async function loadCredentials(dir: string): Promise<SimPrincipal[]> {
  const text = await readTextIfExists(credentialsPath(dir));
  if (text === undefined) {
    throw new ServiceError('ERR_SIM_STATE', `no credentials.json in ${dir}: run \`enclavekit sim init --state ${dir}\` first`);
  }
  return parseCredentials(text, dir);
}

function parseConfig(text: string, dir: string): SimConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ServiceError('ERR_SIM_STATE', `sim.json in ${dir} is not JSON`, { cause });
  }
  const { version, account, region } = (parsed ?? {}) as Record<string, unknown>;
  if (version !== 1 || typeof account !== 'string' || !ACCOUNT.test(account) || typeof region !== 'string') {
    throw new ServiceError('ERR_SIM_STATE', `sim.json in ${dir} is not a version 1 simulator configuration`);
  }
  return { version, account, region };
}

/** The account and region of a state directory. */
export async function loadSimConfig(dir: string): Promise<SimConfig> {
  const text = await readTextIfExists(simConfigPath(dir));
  if (text === undefined) {
    throw new ServiceError('ERR_SIM_STATE', `no sim.json in ${dir}: run \`enclavekit sim init --state ${dir}\` first`);
  }
  return parseConfig(text, dir);
}

/** Creates or completes a state directory. Throws RangeError for a malformed account id. */
export async function initSimState(dir: string, options: InitSimStateOptions = {}): Promise<InitSimStateResult> {
  if (options.account !== undefined && !ACCOUNT.test(options.account)) {
    throw new RangeError('account must be 12 digits');
  }
  await ensureDir(dir, SECRET_DIR_MODE);

  const existingConfigText = await readTextIfExists(simConfigPath(dir));
  const existing = existingConfigText === undefined ? undefined : parseConfig(existingConfigText, dir);
  if (existing !== undefined && options.account !== undefined && existing.account !== options.account) {
    throw new ServiceError(
      'ERR_SIM_STATE',
      `${dir} is already initialised for account ${existing.account}; use another directory for account ${options.account}`,
    );
  }
  const config: SimConfig = existing ?? { version: 1, account: options.account ?? DEFAULT_ACCOUNT, region: SIM_REGION_DEFAULT };
  if (existing === undefined) {
    await writeFileAtomic(simConfigPath(dir), `${JSON.stringify(config, null, 2)}\n`, PUBLIC_FILE_MODE);
  }

  const { created } = await SimPki.initialize(dir, options.now ?? Date.now());

  const credentialsText = await readTextIfExists(credentialsPath(dir));
  const principals = credentialsText === undefined ? [] : parseCredentials(credentialsText, dir);
  const missing = SIM_ROLE_NAMES.map((role) => simRoleArn(config.account, role)).filter(
    (arn) => !principals.some((principal) => principal.arn === arn),
  );
  principals.push(...missing.map(newPrincipal));
  // States made before identity policies existed get the defaults, so their roles keep working.
  let completed = missing.length > 0 || credentialsText === undefined;
  const withPolicies = principals.map((principal) => {
    const role = SIM_ROLE_NAMES.find((name) => principal.arn === simRoleArn(config.account, name));
    if (role === undefined || principal.identityPolicies !== undefined) return principal;
    completed = true;
    return { ...principal, identityPolicies: DEFAULT_IDENTITY_POLICIES[role] };
  });
  if (completed) {
    await writeFileAtomic(credentialsPath(dir), `${JSON.stringify(withPolicies, null, 2)}\n`, SECRET_FILE_MODE);
  }
  return { createdRoot: created, account: config.account, rootPemPath: simRootPemPath(dir) };
}

/** The simulated PKI of a state directory, in the directory's region. `now`: ms since the epoch. */
export async function loadSimPki(dir: string, now: number): Promise<SimPki> {
  const config = await loadSimConfig(dir);
  return SimPki.load(dir, now, { region: config.region });
}
