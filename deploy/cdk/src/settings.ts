/**
 * The fleet's deployment settings: a JSON file (deploy/cdk/fleet.example.json shows every field)
 * plus the PCR files of the enclave image, parsed and checked before any construct is built.
 * Pure: the caller reads the files.
 */
import { ServiceError } from '../../../shared/errors.js';
import { PRODUCER_PURPOSES } from '../../../shared/policy/generate.js';
import { parsePcrsJson } from '../../../shared/policy/pcrs.js';

export interface FleetSettings {
  /** The 12-digit account the fleet and its keys live in (kms:CallerAccount in the key policies). */
  account: string;
  /** The Region (the stacks refuse to deploy anywhere else). */
  region: string;
  /** Name of the instance role: the key policies name it before CloudFormation creates it. */
  roleName: string;
  /** Key administrators: manage the keys, never use them. The deploying role is added to them. */
  adminArns: string[];
  /** Producers: Encrypt / GenerateDataKey under the card key with the purposes below. */
  producerArns: string[];
  /**
   * Purposes producers may name in the encryption context (`purpose`): a subset of the API's sealed
   * inputs (PRODUCER_PURPOSES in shared/policy/generate.ts), all of them by default. The enclave
   * checks each sealed input's purpose, so any other value would only let producers mint data keys
   * the enclave never opens.
   */
  producerPurposes: string[];
  /** Who creates the wrapped tokenization and blind-index keys (GenerateDataKeyWithoutPlaintext only). */
  keygenArns: string[];
  /** The CDK bootstrap qualifier: its CloudFormation execution role creates the keys, so it administers them. */
  cdkQualifier: string;
  /** Release tarball in S3 (bucket, key, SHA-256 hex): installed by every host at boot. */
  release: { bucket: string; key: string; sha256: string };
  /** S3 key (same bucket, SSE-S3) of the host config: API tokens and wrapped keys, as in deploy/parent/parent.json. */
  hostConfigKey: string;
  instanceType: string;
  /** Enclaves per host (1..4) and what each gets; the allocator reserves the sum. */
  enclaves: { count: number; cpuCount: number; memoryMib: number };
  capacity: { min: number; desired: number; max: number };
  /** Port of the parent's HTTP API on each host (the load balancer's target port). */
  parentPort: number;
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ARN_RE = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

/** Bad settings are the operator's configuration: ERR_CONFIG naming the field and rule (docs/conventions.md item 1), never the value. */
export function fail(field: string, rule: string): never {
  throw new ServiceError('ERR_CONFIG', `fleet settings: ${field} ${rule}`);
}

function str(raw: Record<string, unknown>, field: string, re: RegExp, rule: string): string {
  const v = raw[field];
  if (typeof v !== 'string' || !re.test(v)) fail(field, rule);
  return v;
}

function arns(raw: Record<string, unknown>, field: string, min: number): string[] {
  const v = raw[field] ?? [];
  if (!Array.isArray(v) || v.length < min || !v.every((a) => typeof a === 'string' && ARN_RE.test(a))) fail(field, `must be a list of at least ${min} IAM principal ARN(s)`);
  return v as string[];
}

function int(raw: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = raw[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in ${min}..${max}`);
  return v;
}

function obj(raw: Record<string, unknown>, field: string): Record<string, unknown> {
  const v = raw[field];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}

const KNOWN = new Set(['account', 'region', 'roleName', 'adminArns', 'producerArns', 'producerPurposes', 'keygenArns', 'cdkQualifier', 'release', 'hostConfigKey', 'instanceType', 'enclaves', 'capacity', 'parentPort']);

export function parseFleetSettings(raw: unknown): Readonly<FleetSettings> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('the file', 'must hold a JSON object');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KNOWN.has(key) && !key.startsWith('//')) fail(key, 'is not a known setting');
  const release = obj(r, 'release');
  const enclaves = obj(r, 'enclaves');
  const capacity = obj(r, 'capacity');
  const purposes = r.producerPurposes ?? [...PRODUCER_PURPOSES];
  if (!Array.isArray(purposes) || purposes.length === 0 || !purposes.every((p) => typeof p === 'string' && PRODUCER_PURPOSES.includes(p))) {
    fail('producerPurposes', `must be a non-empty list of purposes among ${PRODUCER_PURPOSES.join(', ')}`);
  }
  const settings: FleetSettings = {
    account: str(r, 'account', ACCOUNT_RE, 'must be a 12-digit AWS account id'),
    region: str(r, 'region', REGION_RE, 'must be a Region name such as us-east-1'),
    roleName: str(r, 'roleName', NAME_RE, 'must be an IAM role name'),
    adminArns: arns(r, 'adminArns', 1),
    producerArns: arns(r, 'producerArns', 0),
    producerPurposes: purposes as string[],
    keygenArns: arns(r, 'keygenArns', 1),
    cdkQualifier: r.cdkQualifier === undefined ? 'hnb659fds' : str(r, 'cdkQualifier', /^[a-z0-9]{1,10}$/, 'must be a CDK bootstrap qualifier'),
    release: {
      bucket: str(release, 'bucket', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
      key: str(release, 'key', /^[\w!.*'()/-]{1,512}\.tar\.gz$/, 'must be an S3 key ending in .tar.gz'),
      sha256: str(release, 'sha256', SHA256_RE, 'must be 64 lower-case hex digits'),
    },
    hostConfigKey: str(r, 'hostConfigKey', /^[\w!.*'()/-]{1,512}\.json$/, 'must be an S3 key ending in .json'),
    instanceType: str(r, 'instanceType', /^[a-z0-9-]+\.[0-9]*x?large$/, 'must be an EC2 instance type of xlarge or bigger'),
    enclaves: { count: int(enclaves, 'count', 1, 4), cpuCount: int(enclaves, 'cpuCount', 2, 64), memoryMib: int(enclaves, 'memoryMib', 512, 1_048_576) },
    capacity: { min: int(capacity, 'min', 1, 1000), desired: int(capacity, 'desired', 1, 1000), max: int(capacity, 'max', 1, 1000) },
    parentPort: r.parentPort === undefined ? 8080 : int(r, 'parentPort', 1024, 65535),
  };
  // Nitro enclaves take whole cores: on instance types with two threads per core an odd count fails to allocate.
  if (settings.enclaves.cpuCount % 2 !== 0) fail('enclaves.cpuCount', 'must be even (whole cores)');
  const { min, desired, max } = settings.capacity;
  // A rolling update launches the replacement before it terminates the old host, so max must leave room for it.
  if (!(min <= desired && desired < max)) fail('capacity', 'must satisfy min <= desired < max (a rolling update needs one spare slot)');
  return Object.freeze(settings);
}

/** PCR files as `nitro-cli build-enclave` prints them (shared/policy/pcrs.ts), PCR0..2 required. */
export function parseFleetPcrs(text: string, field: string): Record<number, string> {
  const pcrs = parsePcrsJson(text);
  for (const i of [0, 1, 2]) if (pcrs[i] === undefined) fail(field, `must hold PCR${i}`);
  return pcrs;
}
