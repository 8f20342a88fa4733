/**
 * CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant (KMS API reference).
 * Grants take effect at once in the simulator (KMS is eventually consistent and offers grant tokens
 * for the gap; the simulator accepts well-formed tokens and needs none). Pure rules: sim/kms/grants.ts.
 */
import { KmsFault } from '../errors.js';
import {
  constraintsAllowedFor,
  GRANT_ID_RE,
  GRANT_OPERATIONS,
  granteeMatch,
  grantOperationsFor,
  newGrantId,
  newGrantToken,
} from '../grants.js';
import type { GrantRecord, KeyRecord } from '../key-store.js';
import { accessDeniedText, authorizeRequest } from '../policy/index.js';
import type { RequestShape } from '../shapes.js';
import { grantTokens } from './crypto.js';
import {
  arnOf,
  authorize,
  authorizeWithoutKey,
  callerValues,
  dryRun,
  epochSeconds,
  keyIdMember,
  requireNotPendingDeletion,
  resolveKey,
  specOf,
  updateKey,
  usageOf,
  type OpContext,
  type Operation,
} from './context.js';

/** GranteePrincipal / RetiringPrincipal: an IAM or STS principal ARN, an account root, or a service principal. */
const PRINCIPAL_RE = /^(arn:aws[a-z-]*:(iam|sts)::\d{12}:[^\s*?]+|[a-z0-9.-]+\.amazonaws\.com)$/;
const GRANT_NAME_RE = /^[a-zA-Z0-9:/_-]+$/;

function principalMember(shape: RequestShape, member: string, required: boolean): string | undefined {
  const value = required ? shape.string(member, { required: true, min: 1, max: 256 }) : shape.string(member, { min: 1, max: 256 });
  if (value !== undefined && !PRINCIPAL_RE.test(value)) {
    throw new KmsFault('InvalidArnException', `${member} is not a valid principal.`);
  }
  return value;
}

function readConstraints(shape: RequestShape): GrantRecord['constraints'] | undefined {
  const c = shape.structure('Constraints');
  if (c === undefined) return undefined;
  const subset = c.has('EncryptionContextSubset') ? c.stringMap('EncryptionContextSubset') : undefined;
  const equals = c.has('EncryptionContextEquals') ? c.stringMap('EncryptionContextEquals') : undefined;
  if (subset === undefined && equals === undefined) return undefined;
  return { ...(subset === undefined ? {} : { encryptionContextSubset: subset }), ...(equals === undefined ? {} : { encryptionContextEquals: equals }) };
}

function sameGrant(a: GrantRecord, b: Omit<GrantRecord, 'grantId' | 'token' | 'createdAt' | 'issuingAccount'>): boolean {
  return a.granteePrincipal === b.granteePrincipal && a.retiringPrincipal === b.retiringPrincipal &&
    JSON.stringify([...a.operations].sort()) === JSON.stringify([...b.operations].sort()) &&
    JSON.stringify(a.constraints ?? null) === JSON.stringify(b.constraints ?? null);
}

export const createGrant: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const granteePrincipal = principalMember(shape, 'GranteePrincipal', true)!;
  const retiringPrincipal = principalMember(shape, 'RetiringPrincipal', false);
  if (!shape.has('Operations')) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null");
  }
  const operations = shape.stringList('Operations', { maxItems: GRANT_OPERATIONS.length });
  for (const op of operations) {
    if (!(GRANT_OPERATIONS as readonly string[]).includes(op)) {
      throw new KmsFault('ValidationException', `1 validation error detected: Value '[${operations.join(', ')}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`);
    }
  }
  if (operations.length === 0) throw new KmsFault('ValidationException', 'Grant operations must not be empty.');
  const constraints = readConstraints(shape);
  const name = shape.string('Name', { min: 1, max: 256, pattern: GRANT_NAME_RE });
  grantTokens(shape);
  authorize(ctx, key, 'kms:CreateGrant', {
    'kms:GranteePrincipal': granteePrincipal,
    ...(retiringPrincipal === undefined ? {} : { 'kms:RetiringPrincipal': retiringPrincipal }),
    'kms:GrantOperations': operations,
    ...(constraints === undefined ? {} : { 'kms:GrantConstraintType': constraints.encryptionContextEquals !== undefined ? 'EncryptionContextEquals' : 'EncryptionContextSubset' }),
    'kms:GrantIsForAWSResource': ctx.viaService !== undefined,
  });
  requireNotPendingDeletion(key);
  const valid = grantOperationsFor(specOf(key), usageOf(key));
  const invalid = operations.filter((op) => !valid.includes(op));
  if (invalid.length > 0) {
    throw new KmsFault('ValidationException', `Grant operations ${invalid.join(', ')} are not valid for a ${specOf(key)} key with KeyUsage ${usageOf(key)}.`);
  }
  if (constraints !== undefined && !constraintsAllowedFor(operations)) {
    throw new KmsFault('ValidationException', 'Grant constraints are valid only with operations that accept an encryption context.');
  }
  dryRun(shape);
  const wanted = {
    granteePrincipal, operations,
    ...(name === undefined ? {} : { name }),
    ...(retiringPrincipal === undefined ? {} : { retiringPrincipal }),
    ...(constraints === undefined ? {} : { constraints }),
  };
  let grant: GrantRecord | undefined;
  await updateKey(ctx, key.keyId, (k) => {
    // A retried CreateGrant with the same name and parameters returns the same grant (idempotent).
    grant = name === undefined ? undefined : (k.grants ?? []).find((g) => g.name === name && sameGrant(g, wanted));
    if (grant !== undefined) return k;
    grant = { ...wanted, grantId: newGrantId(), token: newGrantToken(), issuingAccount: `arn:aws:iam::${ctx.caller.account}:root`, createdAt: ctx.now };
    return { ...k, grants: [...(k.grants ?? []), grant] };
  });
  return { GrantToken: grant!.token, GrantId: grant!.grantId };
};

function grantEntry(key: KeyRecord, g: GrantRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    KeyId: arnOf(key),
    GrantId: g.grantId,
    CreationDate: epochSeconds(g.createdAt),
    GranteePrincipal: g.granteePrincipal,
    IssuingAccount: g.issuingAccount,
    Operations: g.operations,
  };
  if (g.name !== undefined) entry['Name'] = g.name;
  if (g.retiringPrincipal !== undefined) entry['RetiringPrincipal'] = g.retiringPrincipal;
  if (g.constraints !== undefined) {
    entry['Constraints'] = {
      ...(g.constraints.encryptionContextSubset === undefined ? {} : { EncryptionContextSubset: g.constraints.encryptionContextSubset }),
      ...(g.constraints.encryptionContextEquals === undefined ? {} : { EncryptionContextEquals: g.constraints.encryptionContextEquals }),
    };
  }
  return entry;
}

/** Pages by position; the marker is the grant id of the last entry returned. */
function page(entries: { key: KeyRecord; grant: GrantRecord }[], shape: RequestShape): Record<string, unknown> {
  const limit = shape.integer('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = shape.string('Marker', { min: 1, max: 1024 });
  let start = 0;
  if (marker !== undefined) {
    const at = entries.findIndex((e) => e.grant.grantId === marker);
    if (at < 0) throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
    start = at + 1;
  }
  const slice = entries.slice(start, start + limit);
  const truncated = start + slice.length < entries.length;
  const result: Record<string, unknown> = { Grants: slice.map((e) => grantEntry(e.key, e.grant)), Truncated: truncated };
  if (truncated) result['NextMarker'] = slice[slice.length - 1]!.grant.grantId;
  return result;
}

export const listGrants: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const grantId = shape.string('GrantId', { min: 1, max: 128 });
  const grantee = shape.string('GranteePrincipal', { min: 1, max: 256 });
  authorize(ctx, key, 'kms:ListGrants');
  const grants = (key.grants ?? []).filter((g) => (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee));
  return page(grants.map((grant) => ({ key, grant })), shape);
};

export const listRetirableGrants: Operation = async (shape, ctx) => {
  const retiring = principalMember(shape, 'RetiringPrincipal', true)!;
  authorizeWithoutKey(ctx, 'kms:ListRetirableGrants');
  const entries = ctx.store.keysOf(ctx.caller.account)
    .filter((k) => k.region === ctx.region)
    .flatMap((key) => (key.grants ?? []).filter((g) => g.retiringPrincipal === retiring).map((grant) => ({ key, grant })));
  return page(entries, shape);
};

/**
 * Who may retire a grant: its retiring principal, its grantee when the grant includes RetireGrant,
 * or a principal of the key's account whose policies allow kms:RetireGrant (RetireGrant API reference).
 */
function mayRetire(ctx: OpContext, key: KeyRecord, grant: GrantRecord): boolean {
  if (grant.retiringPrincipal !== undefined && granteeMatch({ ...grant, granteePrincipal: grant.retiringPrincipal }, ctx.caller.arn) === 'direct') return true;
  if (grant.operations.includes('RetireGrant') && granteeMatch(grant, ctx.caller.arn) === 'direct') return true;
  if (ctx.caller.account !== key.account) return false;
  return authorizeRequest({
    principalArn: ctx.caller.arn, action: 'kms:RetireGrant', resource: arnOf(key), values: callerValues(ctx),
    keyPolicy: ctx.policies.get(key.policy), keyAccount: key.account, identityPolicies: ctx.caller.identityPolicies,
  }).allowed;
}

function findGrant(ctx: OpContext, shape: RequestShape): { key: KeyRecord; grant: GrantRecord } {
  const token = shape.string('GrantToken', { min: 1, max: 8192 });
  const keyIdValue = shape.string('KeyId', { min: 1, max: 2048 });
  const grantId = shape.string('GrantId', { min: 1, max: 128 });
  if (token !== undefined) {
    for (const key of ctx.store.allKeys()) {
      const grant = (key.grants ?? []).find((g) => g.token === token);
      if (grant !== undefined) return { key, grant };
    }
    throw new KmsFault('InvalidGrantTokenException', 'The grant token is not valid.');
  }
  if (keyIdValue === undefined || grantId === undefined) {
    throw new KmsFault('ValidationException', 'Either GrantToken, or both KeyId and GrantId, must be specified.');
  }
  const key = resolveKey(ctx, keyIdValue, { allowAlias: false });
  if (!GRANT_ID_RE.test(grantId)) throw new KmsFault('InvalidGrantIdException', 'The grant ID is not valid.');
  const grant = (key.grants ?? []).find((g) => g.grantId === grantId);
  if (grant === undefined) throw new KmsFault('NotFoundException', `Grant ID ${grantId} not found`);
  return { key, grant };
}

async function removeGrant(ctx: OpContext, key: KeyRecord, grantId: string): Promise<void> {
  await updateKey(ctx, key.keyId, (k) => ({ ...k, grants: (k.grants ?? []).filter((g) => g.grantId !== grantId) }));
}

export const retireGrant: Operation = async (shape, ctx) => {
  const { key, grant } = findGrant(ctx, shape);
  if (!mayRetire(ctx, key, grant)) {
    throw new KmsFault('AccessDeniedException', accessDeniedText({ principalArn: ctx.caller.arn, action: 'kms:RetireGrant', resource: arnOf(key) }, 'no-resource-allow'));
  }
  dryRun(shape);
  await removeGrant(ctx, key, grant.grantId);
  return {};
};

export const revokeGrant: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: false });
  const grantId = shape.string('GrantId', { required: true, min: 1, max: 128 });
  authorize(ctx, key, 'kms:RevokeGrant');
  if (!GRANT_ID_RE.test(grantId)) throw new KmsFault('InvalidGrantIdException', 'The grant ID is not valid.');
  if (!(key.grants ?? []).some((g) => g.grantId === grantId)) throw new KmsFault('NotFoundException', `Grant ID ${grantId} not found`);
  dryRun(shape);
  await removeGrant(ctx, key, grantId);
  return {};
};
