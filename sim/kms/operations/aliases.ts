/**
 * Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias belongs to an account and
 * region and points to one key of that account; it needs permission on the key through the key
 * policy (kms:CreateAlias etc.; the alias side of the permission is IAM, which the sim lacks).
 */
import { aliasArn, ALIAS_NAME } from '../arn.js';
import { KmsFault } from '../errors.js';
import type { AliasRecord } from '../key-store.js';
import type { RequestShape } from '../shapes.js';
import { authorize, authorizeWithoutKey, epochSeconds, keyIdMember, requireNotPendingDeletion, resolveKey, type OpContext, type Operation } from './context.js';

/** Model AliasNameType: 1..256, ^[a-zA-Z0-9:/_-]+$. */
function aliasName(shape: RequestShape): string {
  const name = shape.string('AliasName', { required: true, min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ });
  if (!ALIAS_NAME.test(name)) throw new KmsFault('ValidationException', `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  return name;
}

function refuseReserved(name: string): void {
  if (name.startsWith('alias/aws/')) {
    throw new KmsFault('InvalidAliasNameException', 'The alias prefix alias/aws/ is reserved for AWS managed keys.');
  }
}

function findAlias(ctx: OpContext, name: string): AliasRecord {
  const alias = ctx.store.getAlias(ctx.caller.account, name);
  if (alias === undefined) throw new KmsFault('NotFoundException', `Alias ${aliasArn(ctx.region, ctx.caller.account, name)} is not found.`);
  return alias;
}

export const createAlias: Operation = async (shape, ctx) => {
  const name = aliasName(shape);
  refuseReserved(name);
  const key = resolveKey(ctx, keyIdMember(shape, 'TargetKeyId'), { allowAlias: false });
  authorize(ctx, key, 'kms:CreateAlias');
  requireNotPendingDeletion(key);
  if (key.account !== ctx.caller.account) throw new KmsFault('NotFoundException', 'An alias must point to a key in the same account.');
  await ctx.store.mutate(async () => {
    if (ctx.store.getAlias(ctx.caller.account, name) !== undefined) {
      throw new KmsFault('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.region, ctx.caller.account, name)} already exists`);
    }
    const record: AliasRecord = { aliasName: name, account: ctx.caller.account, region: ctx.region, targetKeyId: key.keyId, createdAt: ctx.now, updatedAt: ctx.now };
    await ctx.store.putAliases([...ctx.store.allAliases(), record]);
  });
  return {};
};

export const updateAlias: Operation = async (shape, ctx) => {
  const name = aliasName(shape);
  refuseReserved(name);
  const target = resolveKey(ctx, keyIdMember(shape, 'TargetKeyId'), { allowAlias: false });
  const current = findAlias(ctx, name);
  const old = ctx.store.getKey(current.targetKeyId);
  if (old !== undefined) authorize(ctx, old, 'kms:UpdateAlias');
  authorize(ctx, target, 'kms:UpdateAlias');
  requireNotPendingDeletion(target);
  await ctx.store.mutate(async () => {
    const aliases = ctx.store.allAliases().map((a) =>
      a.account === ctx.caller.account && a.aliasName === name ? { ...a, targetKeyId: target.keyId, updatedAt: ctx.now } : a);
    await ctx.store.putAliases(aliases);
  });
  return {};
};

export const deleteAlias: Operation = async (shape, ctx) => {
  const name = aliasName(shape);
  refuseReserved(name);
  const alias = findAlias(ctx, name);
  const key = ctx.store.getKey(alias.targetKeyId);
  if (key !== undefined) authorize(ctx, key, 'kms:DeleteAlias');
  await ctx.store.mutate(() =>
    ctx.store.putAliases(ctx.store.allAliases().filter((a) => !(a.account === ctx.caller.account && a.aliasName === name))));
  return {};
};

/** Pages are ordered by alias name; the marker is the last alias name returned. */
export const listAliases: Operation = async (shape, ctx) => {
  const limit = shape.integer('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = shape.string('Marker', { min: 1, max: 1024 });
  if (marker !== undefined && !ALIAS_NAME.test(marker)) throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
  const keyIdValue = shape.string('KeyId', { min: 1, max: 2048 });
  authorizeWithoutKey(ctx, 'kms:ListAliases');
  let aliases = ctx.store.aliasesOf(ctx.caller.account);
  if (keyIdValue !== undefined) {
    const key = resolveKey(ctx, keyIdValue, { allowAlias: false });
    aliases = aliases.filter((a) => a.targetKeyId === key.keyId);
  }
  const rest = marker === undefined ? aliases : aliases.filter((a) => a.aliasName > marker);
  const page = rest.slice(0, limit);
  const truncated = rest.length > page.length;
  const result: Record<string, unknown> = {
    Aliases: page.map((a) => ({
      AliasName: a.aliasName,
      AliasArn: aliasArn(a.region, a.account, a.aliasName),
      TargetKeyId: a.targetKeyId,
      CreationDate: epochSeconds(a.createdAt),
      LastUpdatedDate: epochSeconds(a.updatedAt),
    })),
    Truncated: truncated,
  };
  if (truncated) result['NextMarker'] = page[page.length - 1]!.aliasName;
  return result;
};
