/**
 * Principal matching for key policies.
 *
 * - `"*"` and `{"AWS": "*"}` match every caller.
 * - An account root (`arn:aws:iam::ID:root`) or a bare account id (`ID`) matches every principal of
 *   that account, but only *by delegation*: the principal's IAM identity policies must then allow the
 *   request too ("Default key policy: allows access to the AWS account and enables IAM policies").
 *   principalMatchVia says which kind of match it was; sim/kms/policy/authorize.ts combines both.
 * - A role ARN (`arn:aws:iam::ID:role/path/name`) matches that ARN and the role's sessions
 *   (`arn:aws:sts::ID:assumed-role/name/session`): AWS resolves a role principal in a resource policy
 *   to its unique id, which every session of the role carries.
 * - Any other ARN (user, session) and the Service / Federated / CanonicalUser types match exactly.
 */
import { parseArn } from './match.js';
import type { PrincipalBlock, PrincipalEntry } from './types.js';

const ACCOUNT_RE = /^\d{12}$/;

/** How a principal entry admits a caller: naming it (or its role), through its account, or not at all. */
export type PrincipalMatch = 'direct' | 'account' | undefined;

function entryMatches(entry: PrincipalEntry, principalArn: string): PrincipalMatch {
  if (entry.type !== 'AWS') return entry.value === principalArn ? 'direct' : undefined;
  if (entry.value === principalArn) return 'direct';
  const caller = parseArn(principalArn);
  if (caller === undefined) return undefined;
  if (ACCOUNT_RE.test(entry.value)) return caller.account === entry.value ? 'account' : undefined;
  const policy = parseArn(entry.value);
  if (policy === undefined || policy.partition !== caller.partition) return undefined;
  if (policy.service === 'iam' && policy.resource === 'root') return caller.account === policy.account ? 'account' : undefined;
  if (policy.service === 'iam' && policy.resource.startsWith('role/') && caller.service === 'sts') {
    const roleName = policy.resource.slice('role/'.length).split('/').pop();
    const session = /^assumed-role\/([^/]+)\/[^/]+$/.exec(caller.resource);
    return session !== null && session[1] === roleName && caller.account === policy.account ? 'direct' : undefined;
  }
  return undefined;
}

/**
 * How the statement's Principal (or NotPrincipal) admits this caller. `"*"` and NotPrincipal admit
 * directly; a direct entry wins over an account entry in the same statement.
 */
export function principalMatchVia(block: PrincipalBlock, principalArn: string): PrincipalMatch {
  if (block.any) return block.negated ? undefined : 'direct';
  const matches = block.entries.map((e) => entryMatches(e, principalArn));
  if (block.negated) return matches.some((m) => m !== undefined) ? undefined : 'direct';
  if (matches.includes('direct')) return 'direct';
  return matches.includes('account') ? 'account' : undefined;
}

/** Does the statement's Principal (or NotPrincipal) admit this caller (directly or through its account)? */
export function principalMatches(block: PrincipalBlock, principalArn: string): boolean {
  return principalMatchVia(block, principalArn) !== undefined;
}

/** The account id of an ARN, or undefined when it is not an ARN. */
export function accountOfArn(arn: string): string | undefined {
  const parsed = parseArn(arn);
  return parsed !== undefined && ACCOUNT_RE.test(parsed.account) ? parsed.account : undefined;
}
