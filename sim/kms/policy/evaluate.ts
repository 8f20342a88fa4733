/**
 * Key-policy evaluation, KMS style ("Policy evaluation logic", IAM User Guide; "Key policies in AWS
 * KMS"): a statement applies when its principal, action, resource and every condition match; an
 * applying Deny wins over any Allow; with no applying Allow the request is implicitly denied.
 * This evaluates one policy; sim/kms/policy/authorize.ts combines a key policy with the caller's
 * identity policies (account-root principals delegate to them: principal.ts).
 *
 * Never throws for a parsed policy and a well-typed request.
 */
import { actionMatches, resourceMatches } from './match.js';
import { evaluateConditions, requestContext } from './conditions.js';
import { principalMatchVia } from './principal.js';
import type { ConditionFailure, KeyPolicy, PatternBlock, PolicyDecision, PolicyRequest, StatementTrace } from './types.js';

function blockMatches(block: PatternBlock, value: string, match: (pattern: string, value: string) => boolean): boolean {
  const listed = block.patterns.some((p) => match(p, value));
  return block.negated ? !listed : listed;
}

export function evaluateKeyPolicy(policy: KeyPolicy, request: PolicyRequest): PolicyDecision {
  const context = requestContext(request.values);
  const traces: StatementTrace[] = policy.statements.map((s) => {
    const principalVia = principalMatchVia(s.principal, request.principalArn);
    const principalMatched = principalVia !== undefined;
    const actionMatched = blockMatches(s.action, request.action, actionMatches);
    const resourceMatched = blockMatches(s.resource, request.resource, resourceMatches);
    const scoped = principalMatched && actionMatched && resourceMatched;
    const failures = scoped ? evaluateConditions(s.label, s.conditions, context) : [];
    return {
      statement: s.label,
      effect: s.effect,
      principalMatched,
      principalVia,
      actionMatched,
      resourceMatched,
      conditionsMatched: scoped ? failures.length === 0 : undefined,
      applied: scoped && failures.length === 0,
      failures,
    };
  });

  const deny = traces.find((t) => t.applied && t.effect === 'Deny');
  if (deny !== undefined) {
    return { allowed: false, reason: 'explicit-deny', statementSid: deny.statement, failures: [], statements: traces };
  }
  const allow = traces.find((t) => t.applied && t.effect === 'Allow');
  if (allow !== undefined) {
    return { allowed: true, reason: 'explicit-allow', statementSid: allow.statement, failures: [], statements: traces };
  }
  const failures: ConditionFailure[] = traces.filter((t) => t.effect === 'Allow').flatMap((t) => t.failures);
  return { allowed: false, reason: 'implicit-deny', failures, statements: traces };
}
