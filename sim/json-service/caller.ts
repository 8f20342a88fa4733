/**
 * The authenticated caller of a simulated service and its IAM identity-policy check. SSM
 * parameters have no resource policy, and the Secrets Manager simulator models none, so a request
 * is allowed exactly when the caller's identity policies allow the action on the resource ARN and
 * no statement denies it: the KMS simulator's evaluator (sim/kms/policy/authorize.ts) with no key
 * policy.
 */
import { accessDeniedText, authorizeRequest, callerConditionValues, type KeyPolicy } from '../kms/policy/index.js';
import { AwsFault } from './fault.js';

export interface ServiceCaller {
  arn: string;
  account: string;
  /** Parsed identity policies of the principal (credentials.json `identityPolicies`). */
  identityPolicies: readonly KeyPolicy[];
}

/** Throws AccessDeniedException, worded as IAM words it, unless the identity policies allow. */
export function authorizeIdentity(caller: ServiceCaller, action: string, resource: string): void {
  const decision = authorizeRequest({
    principalArn: caller.arn,
    action,
    resource,
    values: callerConditionValues(caller.arn),
    keyPolicy: undefined,
    keyAccount: undefined,
    identityPolicies: caller.identityPolicies,
  });
  if (!decision.allowed) {
    throw new AwsFault('AccessDeniedException', accessDeniedText({ principalArn: caller.arn, action, resource }, decision.reason));
  }
}
