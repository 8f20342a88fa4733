/**
 * What every operation handler receives, and the steps they share: resolving a KeyId member,
 * authorising through the key policy, checking the key state, and describing a key.
 */
import { keyArn, aliasArn, parseKeyRef } from '../arn.js';
import { KmsFault } from '../errors.js';
import type { KeyRecord, KeyStore } from '../key-store.js';
import { grantFor } from '../grants.js';
import { algorithmsOf, KEY_SPECS, type KeyFamily, type KeySpec, type KeyUsage } from '../key-specs.js';
import {
  accessDeniedText,
  authorizeRequest,
  callerConditionValues,
  evaluateKeyPolicy,
  parseKeyPolicy,
  type ConditionValue,
  type KeyPolicy,
  type PolicyDecision,
} from '../policy/index.js';
import type { RecipientVerifierOptions } from '../recipient.js';
import type { RequestShape } from '../shapes.js';

export interface Caller {
  arn: string;
  account: string;
  /** The caller's IAM identity policies (credentials.json `identityPolicies`), parsed. */
  identityPolicies: readonly KeyPolicy[];
}

export interface OpContext {
  caller: Caller;
  region: string;
  store: KeyStore;
  now: number;
  recipient: RecipientVerifierOptions;
  /** kms:ViaService for every request (tests of service-conditioned policies); normally absent. */
  viaService: string | undefined;
  /** Parsed key policies, by policy text. */
  policies: PolicyCache;
}

export type Operation = (shape: RequestShape, ctx: OpContext) => Promise<Record<string, unknown>>;

/** Parsed policies keyed by their text: a key's policy is parsed once, not per request. */
export class PolicyCache {
  private readonly cache = new Map<string, KeyPolicy>();

  get(text: string): KeyPolicy {
    let policy = this.cache.get(text);
    if (policy === undefined) {
      policy = parseKeyPolicy(text);
      if (this.cache.size >= 1024) this.cache.clear();
      this.cache.set(text, policy);
    }
    return policy;
  }
}

export function arnOf(key: KeyRecord): string {
  return keyArn(key.region, key.account, key.keyId);
}

function notFound(message: string): KmsFault {
  return new KmsFault('NotFoundException', message);
}

/**
 * Resolves a KeyId member: key id, key ARN, and (where the operation accepts them) alias name or
 * alias ARN. A bare key id or alias name resolves in the caller's account, as in KMS; ARNs may
 * name another account's key (cross-account use, which its key policy then decides).
 */
export function resolveKey(ctx: OpContext, value: string, options: { allowAlias: boolean }): KeyRecord {
  const ref = parseKeyRef(value);
  if (ref === null) throw notFound(`Invalid keyId '${value}'`);
  let keyId: string;
  let account: string;
  if (ref.kind === 'id' || ref.kind === 'key-arn') {
    keyId = ref.keyId;
    account = ref.kind === 'id' ? ctx.caller.account : ref.account;
    // A key ARN of another Region (as AWS answers it: "NotFoundException: Invalid arn").
    if (ref.kind === 'key-arn' && ref.region !== ctx.region) throw notFound('Invalid arn');
  } else {
    if (!options.allowAlias) throw notFound(`Invalid keyId '${value}': this operation takes a key id or key ARN`);
    account = ref.kind === 'alias' ? ctx.caller.account : ref.account;
    const region = ref.kind === 'alias' ? ctx.region : ref.region;
    const alias = region === ctx.region ? ctx.store.getAlias(account, ref.aliasName) : undefined;
    if (alias === undefined) throw notFound(`Alias ${aliasArn(ctx.region, account, ref.aliasName)} is not found.`);
    keyId = alias.targetKeyId;
  }
  const key = ctx.store.getKey(keyId);
  if (key === undefined || key.account !== account) {
    throw notFound(`Key '${keyArn(ctx.region, account, keyId)}' does not exist`);
  }
  return key;
}

/** Condition values every request carries: caller account and ARN (and kms:ViaService if set). */
export function callerValues(ctx: OpContext): Record<string, ConditionValue> {
  return callerConditionValues(ctx.caller.arn, ctx.viaService);
}

export function decide(ctx: OpContext, key: KeyRecord, action: string, values: Readonly<Record<string, ConditionValue>>): PolicyDecision {
  return evaluateKeyPolicy(ctx.policies.get(key.policy), {
    principalArn: ctx.caller.arn,
    action,
    resource: arnOf(key),
    values: { ...callerValues(ctx), ...values },
  });
}

/**
 * Authorises `action` on `key` through its key policy and the caller's identity policies
 * (policy/authorize.ts); AccessDeniedException worded as KMS words each case.
 */
export function authorize(
  ctx: OpContext,
  key: KeyRecord,
  action: string,
  values: Readonly<Record<string, ConditionValue>> = {},
): void {
  const resource = arnOf(key);
  const decision = authorizeRequest({
    principalArn: ctx.caller.arn,
    action,
    resource,
    values: { ...callerValues(ctx), ...values },
    keyPolicy: ctx.policies.get(key.policy),
    keyAccount: key.account,
    identityPolicies: ctx.caller.identityPolicies,
  });
  if (decision.allowed) return;
  // Grants add permissions that the policies do not give, but never override an explicit Deny.
  const explicit = decision.reason === 'explicit-deny-resource' || decision.reason === 'explicit-deny-identity';
  if (!explicit && grantFor(key.grants ?? [], ctx.caller.arn, action.slice('kms:'.length), contextOf(values), () => decision.identity.allowed)) return;
  throw new KmsFault('AccessDeniedException', accessDeniedText({ principalArn: ctx.caller.arn, action, resource }, decision.reason));
}

const CONTEXT_KEY_PREFIX = 'kms:EncryptionContext:';

/** The encryption context back from its condition values (policy/context.ts builds them). */
function contextOf(values: Readonly<Record<string, ConditionValue>>): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (k.startsWith(CONTEXT_KEY_PREFIX) && typeof v === 'string') context[k.slice(CONTEXT_KEY_PREFIX.length)] = v;
  }
  return context;
}

/** Operations on no key (CreateKey, ListKeys, ListAliases, GenerateRandom): identity policies alone. */
export function authorizeWithoutKey(ctx: OpContext, action: string, values: Readonly<Record<string, ConditionValue>> = {}): void {
  const decision = authorizeRequest({
    principalArn: ctx.caller.arn,
    action,
    resource: '*',
    values: { ...callerValues(ctx), ...values },
    keyPolicy: undefined,
    keyAccount: undefined,
    identityPolicies: ctx.caller.identityPolicies,
  });
  if (!decision.allowed) {
    throw new KmsFault('AccessDeniedException', accessDeniedText({ principalArn: ctx.caller.arn, action, resource: '*' }, decision.reason));
  }
}

/** Cryptographic use needs an Enabled key (DisabledException / KMSInvalidStateException otherwise). */
export function requireEnabled(key: KeyRecord): void {
  if (key.state === 'Disabled') throw new KmsFault('DisabledException', `${arnOf(key)} is disabled.`);
  if (key.state === 'PendingDeletion') throw new KmsFault('KMSInvalidStateException', `${arnOf(key)} is pending deletion.`);
}

/** Management operations refuse keys pending deletion. */
export function requireNotPendingDeletion(key: KeyRecord): void {
  if (key.state === 'PendingDeletion') throw new KmsFault('KMSInvalidStateException', `${arnOf(key)} is pending deletion.`);
}

export function dryRun(shape: RequestShape): void {
  if (shape.boolean('DryRun') === true) {
    throw new KmsFault('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

/** JSON 1.1 timestamps are epoch seconds. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function specOf(key: KeyRecord): KeySpec {
  return key.keySpec ?? 'SYMMETRIC_DEFAULT';
}

export function usageOf(key: KeyRecord): KeyUsage {
  return key.keyUsage ?? 'ENCRYPT_DECRYPT';
}

/**
 * Operations that need a key of one family and usage answer InvalidKeyUsageException otherwise
 * (e.g. Encrypt with an HMAC key, Sign with an encryption key).
 */
export function requireUsage(key: KeyRecord, usage: KeyUsage, families: readonly KeyFamily[], operation: string): void {
  if (usageOf(key) !== usage || !families.includes(KEY_SPECS[specOf(key)].family)) {
    throw new KmsFault('InvalidKeyUsageException', `${arnOf(key)} key usage is ${usageOf(key)} which is not valid for ${operation}.`);
  }
}

/** KeyMetadata as DescribeKey/CreateKey return it for an AWS_KMS key. */
export function keyMetadata(key: KeyRecord): Record<string, unknown> {
  const spec = specOf(key);
  const metadata: Record<string, unknown> = {
    AWSAccountId: key.account,
    KeyId: key.keyId,
    Arn: arnOf(key),
    CreationDate: epochSeconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: usageOf(key),
    KeyState: key.state,
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: spec,
    KeySpec: spec,
    ...algorithmsOf(spec, usageOf(key)),
    MultiRegion: false,
  };
  // Key material ids belong to symmetric encryption keys only (DescribeKey API reference).
  if (spec === 'SYMMETRIC_DEFAULT') metadata['CurrentKeyMaterialId'] = key.versions[key.versions.length - 1]!.materialId;
  if (key.deletionDate !== undefined) metadata['DeletionDate'] = epochSeconds(key.deletionDate);
  if (key.pendingWindowInDays !== undefined) metadata['PendingDeletionWindowInDays'] = key.pendingWindowInDays;
  return metadata;
}

/** Applies `change` to a copy of the key under the store's write lock, persisting it. */
export async function updateKey(ctx: OpContext, keyId: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
  return ctx.store.mutate(async () => {
    const current = ctx.store.getKey(keyId);
    if (current === undefined) throw new KmsFault('NotFoundException', `Key '${keyId}' does not exist`);
    const next = change(current);
    await ctx.store.putKey(next);
    return next;
  });
}

/** The KeyId member of most operations: required, 1..2048 characters (model KeyIdType). */
export function keyIdMember(shape: RequestShape, member = 'KeyId'): string {
  return shape.string(member, { required: true, min: 1, max: 2048 });
}
