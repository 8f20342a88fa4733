/**
 * Condition evaluation with IAM semantics.
 *
 * Sources: "IAM JSON policy elements: Condition operators" and "Conditions with multiple context keys
 * or values" (AWS IAM User Guide):
 * - several operators in one Condition block AND; several keys under one operator AND; several
 *   values for one key OR, and NOR for a negated operator (StringNotEquals, StringNotLike, ...);
 * - a key absent from the request context makes a condition false, except that a negated operator is
 *   then true, `...IfExists` is then true, and `Null` tests presence itself;
 * - `ForAnyValue:` is true when at least one request value matches (false when the key is absent or
 *   its set is empty); `ForAllValues:` is true when every request value matches, and also when the
 *   key is absent or its set is empty. With a negated operator, "matches" means "matches none of the
 *   policy values".
 * - Without a set prefix, a multi-valued request value matches when any of its members matches (the
 *   negated operators: when none does). AWS asks for set operators on multi-valued keys; this is the
 *   simulator's documented reading for the case where a policy omits one.
 * - An empty array in the request context counts as absent (so `Null: true` holds for an empty
 *   `kms:EncryptionContextKeys`).
 */
import { arnLikeMatches, wildcardMatch } from './match.js';
import { isNegatedOperator } from './parse.js';
import type { BaseOperator, ConditionClause, ConditionFailure, ConditionValue, PolicyRequest } from './types.js';

/** The request context, with key names lower-cased once (condition key names are case-insensitive). */
export type RequestContext = ReadonlyMap<string, ConditionValue>;

export function requestContext(values: PolicyRequest['values']): RequestContext {
  const map = new Map<string, ConditionValue>();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const lower = key.toLowerCase();
    const prior = map.get(lower);
    // Two request keys that differ only by case (possible for encryption-context keys) both count.
    map.set(lower, prior === undefined ? value : [...asStrings(prior), ...asStrings(value)]);
  }
  return map;
}

function asStrings(value: Exclude<ConditionValue, undefined>): string[] {
  if (typeof value === 'boolean') return [value ? 'true' : 'false'];
  if (typeof value === 'string') return [value];
  return [...value];
}

function isPresent(value: ConditionValue): value is Exclude<ConditionValue, undefined> {
  if (value === undefined) return false;
  return !(Array.isArray(value) && value.length === 0);
}

/** The positive form of each operator: does one request value match one policy value? */
function positiveMatch(base: BaseOperator, actual: string, policy: string): boolean {
  switch (base) {
    case 'StringEquals':
    case 'StringNotEquals':
      return actual === policy;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return actual.toLowerCase() === policy.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return wildcardMatch(policy, actual, false);
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return arnLikeMatches(policy, actual);
    case 'Bool':
      return actual.toLowerCase() === policy.toLowerCase();
    case 'Null':
      return false; // handled before: Null tests presence, not values
  }
}

export function conditionHolds(clause: ConditionClause, context: RequestContext): boolean {
  const actual = context.get(clause.keyLower);
  const present = isPresent(actual);
  if (clause.base === 'Null') {
    return clause.values.some((v) => (v.toLowerCase() === 'true' ? !present : present));
  }
  const negated = isNegatedOperator(clause.base);
  if (!present) {
    if (clause.ifExists) return true;
    if (clause.set === 'ForAllValues') return true;
    if (clause.set === 'ForAnyValue') return false;
    return negated;
  }
  const requestValues = asStrings(actual);
  const matchesPolicy = (r: string): boolean => clause.values.some((p) => positiveMatch(clause.base, r, p));
  // For a negated operator, a request value "satisfies" the operator when it matches no policy value.
  const satisfies = (r: string): boolean => (negated ? !matchesPolicy(r) : matchesPolicy(r));
  switch (clause.set) {
    case 'ForAnyValue':
      return requestValues.some(satisfies);
    case 'ForAllValues':
      return requestValues.every(satisfies);
    case undefined:
      return negated ? !requestValues.some(matchesPolicy) : requestValues.some(matchesPolicy);
  }
}

/** Evaluates every clause (no short-circuit, so a trace names every failed condition). */
export function evaluateConditions(
  statement: string,
  clauses: readonly ConditionClause[],
  context: RequestContext,
): ConditionFailure[] {
  const failures: ConditionFailure[] = [];
  for (const clause of clauses) {
    if (conditionHolds(clause, context)) continue;
    failures.push({
      statement,
      operator: clause.operator,
      key: clause.key,
      expected: clause.values,
      actual: context.get(clause.keyLower),
    });
  }
  return failures;
}
