/**
 * Principal matching for key policies.
 *
 * - `"*"` and `{"AWS": "*"}` match every caller.
 * - An account root (`arn:aws:iam::ID:root`) or a bare account id (`ID`): in real KMS this delegates
 *   to the account's IAM policies ("Default key policy: allows access to the AWS account and enables
 *   IAM policies"). The simulator has no IAM policies, so it treats an account-root principal as
 *   matching every principal of that account (same partition). Policies that rely on IAM policies to
 *   narrow access are therefore more permissive here than in AWS, never less.
 * - A role ARN (`arn:aws:iam::ID:role/path/name`) matches that ARN and the role's sessions
 *   (`arn:aws:sts::ID:assumed-role/name/session`): AWS resolves a role principal in a resource policy
 *   to its unique id, which every session of the role carries.
 * - Any other ARN (user, session) and the Service / Federated / CanonicalUser types match exactly.
 */
import { parseArn } from './match.js';
import type { PrincipalBlock, PrincipalEntry } from './types.js';

const ACCOUNT_RE = /^\d{12}$/;

function entryMatches(entry: PrincipalEntry, principalArn: string): boolean {
  if (entry.type !== 'AWS') return entry.value === principalArn;
  if (entry.value === principalArn) return true;
  const caller = parseArn(principalArn);
  if (caller === undefined) return false;
  if (ACCOUNT_RE.test(entry.value)) return caller.account === entry.value;
  const policy = parseArn(entry.value);
  if (policy === undefined || policy.partition !== caller.partition) return false;
  if (policy.service === 'iam' && policy.resource === 'root') return caller.account === policy.account;
  if (policy.service === 'iam' && policy.resource.startsWith('role/') && caller.service === 'sts') {
    const roleName = policy.resource.slice('role/'.length).split('/').pop();
    const session = /^assumed-role\/([^/]+)\/[^/]+$/.exec(caller.resource);
    return session !== null && session[1] === roleName && caller.account === policy.account;
  }
  return false;
}

/** Does the statement's Principal (or NotPrincipal) admit this caller? */
export function principalMatches(block: PrincipalBlock, principalArn: string): boolean {
  const listed = block.any || block.entries.some((e) => entryMatches(e, principalArn));
  return block.negated ? !listed : listed;
}

/** The account id of an ARN, or undefined when it is not an ARN. */
export function accountOfArn(arn: string): string | undefined {
  const parsed = parseArn(arn);
  return parsed !== undefined && ACCOUNT_RE.test(parsed.account) ? parsed.account : undefined;
}
