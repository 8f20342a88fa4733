/**
 * The simulator's key store: keys (with every material version), aliases and key policies, kept
 * in memory and written through to DIR/kms/ before an operation answers, so a killed simulator
 * restarts with everything it had acknowledged.
 *
 *   DIR/kms/keys/<key-id>.json   one key: metadata, policy text, material versions (0600)
 *   DIR/kms/aliases.json         every alias (0600)
 *
 * Key material leaves this module only as AES keys handed to the ciphertext-blob code.
 * Mutations run one at a time (`mutate`), build a new record, persist it, then swap it in: a
 * failed write leaves memory as it was.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceError } from '../../shared/errors.js';
import { writeFileAtomic, fsyncDir } from './atomic-file.js';
import { materialFits } from './asymmetric.js';
import { isKeySpec, KEY_SPECS, type KeySpec, type KeyUsage } from './key-specs.js';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface KeyVersion {
  /** KMS KeyMaterialId: 64 hex characters. */
  materialId: string;
  /** AES-256 key (32 bytes), PKCS #8 DER private key, or HMAC key: sim/kms/asymmetric.ts. */
  material: Buffer;
  createdAt: number;
  /** How this version came: absent for the first one (and in files written before this field). */
  rotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

export interface KeyRecord {
  keyId: string;
  account: string;
  region: string;
  description: string;
  /** Absent in files written before other key specs existed: SYMMETRIC_DEFAULT. */
  keySpec?: KeySpec;
  /** Absent: ENCRYPT_DECRYPT. */
  keyUsage?: KeyUsage;
  createdAt: number;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  rotationEnabled: boolean;
  rotationPeriodInDays?: number;
  nextRotationDate?: number;
  /** RotateKeyOnDemand calls so far (KMS allows 10 per key). */
  onDemandRotations?: number;
  grants?: GrantRecord[];
  /** TagResource / CreateKey Tags, in the order first set. */
  tags?: KeyTag[];
  /** The key policy document, as text (GetKeyPolicy returns it verbatim, like KMS). */
  policy: string;
  /** Index = key version in ciphertext blobs; the last one encrypts. */
  versions: KeyVersion[];
}

/** A grant on a key (CreateGrant API reference: GrantListEntry). */
export interface GrantRecord {
  grantId: string;
  token: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: { encryptionContextSubset?: Record<string, string>; encryptionContextEquals?: Record<string, string> };
  /** The account root ARN of the principal that created the grant. */
  issuingAccount: string;
  createdAt: number;
}

export interface KeyTag {
  key: string;
  value: string;
}

export interface AliasRecord {
  aliasName: string;
  account: string;
  region: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

const FILE_FORMAT = 1;
const KEY_FILE = /^[0-9a-f-]{36}\.json$/;

interface KeyFile extends Omit<KeyRecord, 'versions'> {
  format: number;
  versions: { materialId: string; material: string; createdAt: number; rotationType?: 'AUTOMATIC' | 'ON_DEMAND' }[];
}

export class KeyStore {
  private readonly keysDir: string;
  private readonly aliasesFile: string;
  private readonly keys = new Map<string, KeyRecord>();
  private aliases: AliasRecord[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(root: string) {
    this.keysDir = join(root, 'keys');
    this.aliasesFile = join(root, 'aliases.json');
  }

  /** Opens (creating if needed) DIR/kms. A damaged file stops the start: ERR_SIM_STATE. */
  static async open(kmsDir: string): Promise<KeyStore> {
    const store = new KeyStore(kmsDir);
    await mkdir(store.keysDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(store.keysDir)) {
      if (name.endsWith('.tmp')) {
        // Left by a write that was killed before its rename: the old file is intact.
        await rm(join(store.keysDir, name), { force: true });
        continue;
      }
      if (!KEY_FILE.test(name)) continue;
      const record = parseKeyFile(await readFile(join(store.keysDir, name), 'utf8'), name);
      store.keys.set(record.keyId, record);
    }
    store.aliases = await readAliases(store.aliasesFile);
    return store;
  }

  getKey(keyId: string): KeyRecord | undefined {
    return this.keys.get(keyId);
  }

  keysOf(account: string): KeyRecord[] {
    return [...this.keys.values()].filter((k) => k.account === account).sort((a, b) => a.createdAt - b.createdAt || a.keyId.localeCompare(b.keyId));
  }

  allKeys(): KeyRecord[] {
    return [...this.keys.values()];
  }

  getAlias(account: string, aliasName: string): AliasRecord | undefined {
    return this.aliases.find((a) => a.account === account && a.aliasName === aliasName);
  }

  aliasesOf(account: string): AliasRecord[] {
    return this.aliases.filter((a) => a.account === account).sort((a, b) => a.aliasName.localeCompare(b.aliasName));
  }

  /** Runs mutations one at a time, in arrival order. */
  mutate<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Persists a new or changed key, then makes it visible. Call inside `mutate`. */
  async putKey(record: KeyRecord): Promise<void> {
    await writeFileAtomic(join(this.keysDir, `${record.keyId}.json`), serializeKey(record));
    this.keys.set(record.keyId, record);
  }

  /** Deletes a key and the aliases that point to it (the end of a deletion waiting period). */
  async deleteKey(keyId: string): Promise<void> {
    const remaining = this.aliases.filter((a) => a.targetKeyId !== keyId);
    if (remaining.length !== this.aliases.length) await this.putAliases(remaining);
    await rm(join(this.keysDir, `${keyId}.json`), { force: true });
    await fsyncDir(this.keysDir);
    const record = this.keys.get(keyId);
    this.keys.delete(keyId);
    for (const v of record?.versions ?? []) v.material.fill(0);
  }

  async putAliases(aliases: AliasRecord[]): Promise<void> {
    await writeFileAtomic(this.aliasesFile, JSON.stringify({ format: FILE_FORMAT, aliases }, null, 2));
    this.aliases = aliases;
  }

  allAliases(): readonly AliasRecord[] {
    return this.aliases;
  }

  /** Zeroes every key's material; the store is unusable afterwards. */
  wipe(): void {
    for (const record of this.keys.values()) for (const v of record.versions) v.material.fill(0);
    this.keys.clear();
  }
}

function serializeKey(record: KeyRecord): string {
  const file: KeyFile = {
    format: FILE_FORMAT,
    ...record,
    versions: record.versions.map((v) => ({
      materialId: v.materialId, material: v.material.toString('base64'), createdAt: v.createdAt,
      ...(v.rotationType === undefined ? {} : { rotationType: v.rotationType }),
    })),
  };
  return JSON.stringify(file, null, 2);
}

function damaged(what: string, cause?: unknown): ServiceError {
  return new ServiceError('ERR_SIM_STATE', `KMS simulator state file ${what} is damaged`, cause === undefined ? undefined : { cause });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseKeyFile(text: string, name: string): KeyRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw damaged(`keys/${name}`, error);
  }
  if (!isObject(raw) || raw['format'] !== FILE_FORMAT) throw damaged(`keys/${name}`);
  const f = raw as unknown as KeyFile;
  const ok =
    typeof f.keyId === 'string' && `${f.keyId}.json` === name &&
    typeof f.account === 'string' && typeof f.region === 'string' &&
    typeof f.description === 'string' && typeof f.createdAt === 'number' &&
    (f.state === 'Enabled' || f.state === 'Disabled' || f.state === 'PendingDeletion') &&
    typeof f.rotationEnabled === 'boolean' && typeof f.policy === 'string' &&
    Array.isArray(f.versions) && f.versions.length > 0 &&
    f.versions.every((v) => isObject(v) && typeof v.material === 'string' && typeof v.materialId === 'string' && typeof v.createdAt === 'number');
  if (!ok) throw damaged(`keys/${name}`);
  const versions: KeyVersion[] = f.versions.map((v) => ({
    materialId: v.materialId, material: Buffer.from(v.material, 'base64'), createdAt: v.createdAt,
    ...(v.rotationType === 'AUTOMATIC' || v.rotationType === 'ON_DEMAND' ? { rotationType: v.rotationType } : {}),
  }));
  const spec = f.keySpec ?? 'SYMMETRIC_DEFAULT';
  if (!isKeySpec(spec) || (f.keyUsage !== undefined && !KEY_SPECS[spec].usages.includes(f.keyUsage))) throw damaged(`keys/${name}`);
  if (versions.some((v) => !materialFits(spec, v.material))) throw damaged(`keys/${name}`);
  const record: KeyRecord = {
    keyId: f.keyId, account: f.account, region: f.region, description: f.description, createdAt: f.createdAt,
    state: f.state, rotationEnabled: f.rotationEnabled, policy: f.policy, versions,
  };
  if (f.keySpec !== undefined) record.keySpec = f.keySpec;
  if (f.grants !== undefined) {
    if (!Array.isArray(f.grants) || !f.grants.every((g) => isObject(g) && typeof g.grantId === 'string' && typeof g.token === 'string' &&
      typeof g.granteePrincipal === 'string' && Array.isArray(g.operations) && typeof g.issuingAccount === 'string' && typeof g.createdAt === 'number')) {
      throw damaged(`keys/${name}`);
    }
    record.grants = f.grants;
  }
  if (f.tags !== undefined) {
    if (!Array.isArray(f.tags) || !f.tags.every((t) => isObject(t) && typeof t.key === 'string' && typeof t.value === 'string')) throw damaged(`keys/${name}`);
    record.tags = f.tags.map((t) => ({ key: t.key, value: t.value }));
  }
  if (f.keyUsage !== undefined) record.keyUsage = f.keyUsage;
  if (typeof f.deletionDate === 'number') record.deletionDate = f.deletionDate;
  if (typeof f.pendingWindowInDays === 'number') record.pendingWindowInDays = f.pendingWindowInDays;
  if (typeof f.rotationPeriodInDays === 'number') record.rotationPeriodInDays = f.rotationPeriodInDays;
  if (typeof f.nextRotationDate === 'number') record.nextRotationDate = f.nextRotationDate;
  if (typeof f.onDemandRotations === 'number') record.onDemandRotations = f.onDemandRotations;
  return record;
}

export async function readAliases(path: string): Promise<AliasRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw damaged('aliases.json', error);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw damaged('aliases.json', error);
  }
  if (!isObject(raw) || raw['format'] !== FILE_FORMAT || !Array.isArray(raw['aliases'])) throw damaged('aliases.json');
  const aliases = raw['aliases'] as unknown[];
  for (const a of aliases) {
    if (!isObject(a) || typeof a['aliasName'] !== 'string' || typeof a['account'] !== 'string' ||
      typeof a['region'] !== 'string' || typeof a['targetKeyId'] !== 'string' ||
      typeof a['createdAt'] !== 'number' || typeof a['updatedAt'] !== 'number') throw damaged('aliases.json');
  }
  return aliases as AliasRecord[];
}
