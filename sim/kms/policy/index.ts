/**
 * KMS key policies for the simulator: parse (ERR_POLICY_MALFORMED on anything malformed or not
 * evaluable) and evaluate with IAM semantics, with traces that name every failed condition.
 *
 * Simulator readings where AWS publishes no exact rule, or where the sim has less context than AWS:
 * - Account-root principals (`arn:aws:iam::ID:root`, `ID`) delegate to the caller's IAM identity
 *   policies, which authorize.ts evaluates with the key policy: principal.ts, authorize.ts.
 * - Without a set prefix, a multi-valued request value matches when any member matches: conditions.ts.
 * - Condition key names (including the `<key>` of kms:EncryptionContext:<key>) are case-insensitive.
 * - Element names and operator names are case-sensitive, spelt as AWS documents them.
 * - Operators evaluated: String*, Arn*, Bool, Null, with ForAnyValue:/ForAllValues: and IfExists.
 *   Numeric, Date, IpAddress and Binary operators, and policy variables (`${...}`), are refused or
 *   (variables) compared literally.
 */
export { parseKeyPolicy, parseIdentityPolicy, KEY_POLICY_MAX_BYTES } from './parse.js';
export { evaluateKeyPolicy } from './evaluate.js';
export { authorizeRequest, accessDeniedText, type AccessDecision, type AccessReason, type AccessRequest } from './authorize.js';
export { principalMatches, principalMatchVia, accountOfArn } from './principal.js';
export { wildcardMatch, actionMatches, resourceMatches, arnLikeMatches, parseArn } from './match.js';
export {
  attestationConditionValues,
  nitroTpmConditionValues,
  encryptionContextConditionValues,
  callerConditionValues,
  accessDeniedMessage,
} from './context.js';
export { KMS_ACTIONS, type KmsAction } from './actions.js';
export { explainKeyPolicy, attestedPrincipals, type ExplainDocument, type ExplainRequest, type ExplainResult } from './explain.js';
export type {
  KeyPolicy,
  PolicyStatement,
  ConditionClause,
  PolicyRequest,
  PolicyDecision,
  ConditionFailure,
  StatementTrace,
  ConditionValue,
  PolicyEffect,
} from './types.js';
