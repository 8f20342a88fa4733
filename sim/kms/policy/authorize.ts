/**
 * The KMS authorisation decision: a key policy together with the caller's IAM identity policies
 * ("Policy evaluation logic" and "Cross-account policy evaluation logic", IAM User Guide; "Key
 * policies in AWS KMS": "Unless the key policy explicitly allows it, you cannot use IAM policies to
 * allow access to a KMS key").
 *
 * - An explicit Deny in either policy wins.
 * - Same account: allowed when a key-policy Allow names the caller directly (its ARN, its role, or
 *   `"*"`), or when a key-policy Allow names the caller's account (root or account id: delegation) and
 *   an identity policy allows the request.
 * - Another account: a key-policy Allow must admit the caller (any way) and an identity policy of the
 *   caller must allow the request.
 * - Requests with no key (CreateKey, ListKeys, ListAliases, GenerateRandom): identity policies only.
 *
 * Pure: never throws for parsed policies and a well-typed request.
 */
import { evaluateKeyPolicy } from './evaluate.js';
import { accountOfArn } from './principal.js';
import type { KeyPolicy, PolicyDecision, PolicyRequest } from './types.js';

export type AccessReason =
  | 'key-policy-allow'
  | 'identity-policy-allow'
  | 'explicit-deny-resource'
  | 'explicit-deny-identity'
  | 'no-resource-allow'
  | 'no-identity-allow';

export interface AccessDecision {
  allowed: boolean;
  reason: AccessReason;
  /** The key policy's own decision (undefined for requests with no key). */
  keyPolicy: PolicyDecision | undefined;
  /** The caller's identity policies, evaluated as one policy. */
  identity: PolicyDecision;
}

export interface AccessRequest extends PolicyRequest {
  /** The key's policy, or undefined for an operation on no key (resource `*`). */
  keyPolicy: KeyPolicy | undefined;
  /** The account that owns the key (undefined for an operation on no key). */
  keyAccount: string | undefined;
  identityPolicies: readonly KeyPolicy[];
}

const NO_STATEMENTS: KeyPolicy = Object.freeze({ version: undefined, id: undefined, statements: Object.freeze([]), warnings: Object.freeze([]) });

/** Identity policies attached to one principal are evaluated together: statements of all of them. */
function combined(policies: readonly KeyPolicy[]): KeyPolicy {
  if (policies.length === 0) return NO_STATEMENTS;
  if (policies.length === 1) return policies[0]!;
  return { ...NO_STATEMENTS, statements: policies.flatMap((p) => p.statements) };
}

export function authorizeRequest(request: AccessRequest): AccessDecision {
  const { keyPolicy, keyAccount, identityPolicies, ...policyRequest } = request;
  const identity = evaluateKeyPolicy(combined(identityPolicies), policyRequest);
  const result = (allowed: boolean, reason: AccessReason, key: PolicyDecision | undefined): AccessDecision =>
    ({ allowed, reason, keyPolicy: key, identity });

  if (keyPolicy === undefined) {
    if (identity.reason === 'explicit-deny') return result(false, 'explicit-deny-identity', undefined);
    return identity.allowed ? result(true, 'identity-policy-allow', undefined) : result(false, 'no-identity-allow', undefined);
  }

  const key = evaluateKeyPolicy(keyPolicy, policyRequest);
  if (key.reason === 'explicit-deny') return result(false, 'explicit-deny-resource', key);
  if (identity.reason === 'explicit-deny') return result(false, 'explicit-deny-identity', key);
  const applied = key.statements.filter((t) => t.applied && t.effect === 'Allow');
  if (applied.length === 0) return result(false, 'no-resource-allow', key);
  const sameAccount = accountOfArn(request.principalArn) === keyAccount;
  if (sameAccount && applied.some((t) => t.principalVia === 'direct')) return result(true, 'key-policy-allow', key);
  return identity.allowed ? result(true, 'identity-policy-allow', key) : result(false, 'no-identity-allow', key);
}

/**
 * AccessDeniedException's message as KMS words it for each case (the IAM "access denied error
 * message" format: principal, action, resource, and which kind of policy denied or failed to allow;
 * real bodies quoted in https://github.com/aws/aws-nitro-enclaves-sdk-c/issues/127 and /issues/157). An operation on no key
 * names resource `*`.
 */
export function accessDeniedText(request: Pick<PolicyRequest, 'principalArn' | 'action' | 'resource'>, reason: AccessReason): string {
  const head = `User: ${request.principalArn} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  switch (reason) {
    case 'explicit-deny-resource':
      return `${head} with an explicit deny in a resource-based policy`;
    case 'explicit-deny-identity':
      return `${head} with an explicit deny in an identity-based policy`;
    case 'no-resource-allow':
      return `${head} because no resource-based policy allows the ${request.action} action`;
    case 'no-identity-allow':
      return `${head} because no identity-based policy allows the ${request.action} action`;
    default:
      return head;
  }
}
