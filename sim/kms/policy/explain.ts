/**
 * `enclavekit policy explain`, the pure part: evaluate a key policy for a request carrying an
 * attestation document, as KMS would, and say why in lines a person can read.
 *
 * KMS sets the kms:RecipientAttestation:* keys only from a document that verifies ("If the request
 * does not include a valid attestation document ... permission is denied because this condition is
 * not satisfied", docs/formats.md 5.5). So a document that does not verify gives DENY, whatever the
 * policy says: the verdict is computed without attestation values, and a second evaluation with the
 * document's unverified PCRs is shown only as a diagnosis.
 */
import { authorizeRequest, type AccessDecision } from './authorize.js';
import { attestationConditionValues, callerConditionValues, encryptionContextConditionValues } from './context.js';
import { evaluateKeyPolicy } from './evaluate.js';
import { accountOfArn } from './principal.js';
import type { ConditionFailure, ConditionValue, KeyPolicy, PolicyDecision } from './types.js';

export type ExplainDocument =
  | { verified: true; moduleId: string; timestamp: number; pcrs: Readonly<Record<number, string>>; rootSha256?: string }
  | { verified: false; error: { code: string; message: string }; pcrs?: Readonly<Record<number, string>> };

export interface ExplainRequest {
  principalArn: string;
  action: string;
  resource: string;
  encryptionContext?: Readonly<Record<string, string>>;
  viaService?: string;
  /**
   * The caller's IAM identity policies. Given: the verdict is KMS's combined decision (authorize.ts:
   * account-root statements delegate to these). Absent: the key policy alone decides, and an
   * account-root statement counts as allowing (as if IAM allowed).
   */
  identityPolicies?: readonly KeyPolicy[];
}

export interface ExplainResult {
  /** The verdict: false whenever the document does not verify. */
  allowed: boolean;
  /** The policy's decision with the attestation values KMS would set (none for an unverified document). */
  decision: PolicyDecision;
  lines: string[];
}

const ATTESTATION_PREFIX = 'kms:recipientattestation:';

/** AWS principals of the statements that carry attestation conditions (the default `--principal`). */
export function attestedPrincipals(policy: KeyPolicy): string[] {
  const found = new Set<string>();
  for (const s of policy.statements) {
    if (s.principal.negated || !s.conditions.some((c) => c.keyLower.startsWith(ATTESTATION_PREFIX))) continue;
    for (const e of s.principal.entries) if (e.type === 'AWS' && e.value.startsWith('arn:')) found.add(e.value);
  }
  return [...found];
}

function isDebug(pcrs: Readonly<Record<number, string>>): boolean {
  return [0, 1, 2].every((i) => pcrs[i] !== undefined && /^0+$/.test(pcrs[i]!));
}

function show(value: ConditionValue): string {
  if (value === undefined) return '(absent)';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  return value.length === 0 ? '(empty set)' : `[${value.join(', ')}]`;
}

function failureLines(f: ConditionFailure, source: string): string[] {
  const policyValues = f.expected.length === 1 ? f.expected[0]! : `any of [${f.expected.join(', ')}]`;
  const pad = Math.max('policy'.length, source.length) + 1;
  return [
    `    ✗ ${f.operator} ${f.key}`,
    `        ${'policy:'.padEnd(pad + 1)} ${policyValues}`,
    `        ${`${source}:`.padEnd(pad + 1)} ${show(f.actual)}`,
  ];
}

function shortName(key: string): string {
  const lower = key.toLowerCase();
  return lower.startsWith(ATTESTATION_PREFIX) ? key.slice(ATTESTATION_PREFIX.length) : key;
}

function statementLines(decision: PolicyDecision): string[] {
  const lines: string[] = [];
  for (const t of decision.statements) {
    const head = `  ${t.statement} (${t.effect}):`;
    if (!t.principalMatched) lines.push(`${head} principal does not match`);
    else if (!t.actionMatched) lines.push(`${head} action not covered`);
    else if (!t.resourceMatched) lines.push(`${head} resource does not match`);
    else if (t.applied) lines.push(`${head} applies${t.effect === 'Deny' ? ' (explicit deny)' : ''}`);
    else {
      lines.push(`${head} principal, action and resource match; ${t.failures.length} condition(s) failed`);
      for (const f of t.failures) lines.push(...failureLines(f, f.key.toLowerCase().startsWith(ATTESTATION_PREFIX) ? 'document' : 'request'));
    }
  }
  return lines;
}

function verdictLine(decision: PolicyDecision, action: string): string {
  if (decision.reason === 'explicit-allow') return `verdict: ALLOW (statement ${decision.statementSid})`;
  if (decision.reason === 'explicit-deny') return `verdict: DENY (explicit deny in statement ${decision.statementSid})`;
  const failed = [...new Set(decision.failures.map((f) => shortName(f.key)))];
  return `verdict: DENY (no statement allows ${action}${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''})`;
}

function accessVerdictLine(access: AccessDecision, action: string): string {
  switch (access.reason) {
    case 'key-policy-allow': return `verdict: ALLOW (the key policy names the caller: statement ${access.keyPolicy?.statementSid})`;
    case 'identity-policy-allow': return `verdict: ALLOW (the key policy admits the account; an identity policy allows ${action})`;
    case 'explicit-deny-resource': return `verdict: DENY (explicit deny in the key policy, statement ${access.keyPolicy?.statementSid})`;
    case 'explicit-deny-identity': return `verdict: DENY (explicit deny in an identity policy, statement ${access.identity.statementSid})`;
    case 'no-resource-allow': return `verdict: DENY (no key-policy statement allows ${action})`;
    case 'no-identity-allow': return `verdict: DENY (the key policy delegates to the account, but no identity policy allows ${action})`;
  }
}

/** With identity policies: their statements and the combined verdict replace the key-policy verdict. */
function withIdentity(policy: KeyPolicy, request: ExplainRequest, values: Record<string, ConditionValue>, lines: string[]): boolean {
  const access = authorizeRequest({
    principalArn: request.principalArn,
    action: request.action,
    resource: request.resource,
    values,
    keyPolicy: policy,
    keyAccount: accountOfArn(request.resource),
    identityPolicies: request.identityPolicies ?? [],
  });
  lines.pop();
  lines.push('identity policies:', ...(access.identity.statements.length === 0 ? ['  (none: the caller has no IAM permissions)'] : statementLines(access.identity)));
  lines.push(accessVerdictLine(access, request.action));
  return access.allowed;
}

export function explainKeyPolicy(policy: KeyPolicy, request: ExplainRequest, document: ExplainDocument): ExplainResult {
  const base: Record<string, ConditionValue> = {
    ...callerConditionValues(request.principalArn, request.viaService),
    ...encryptionContextConditionValues(request.encryptionContext),
  };
  const evaluate = (values: Record<string, ConditionValue>) =>
    evaluateKeyPolicy(policy, { principalArn: request.principalArn, action: request.action, resource: request.resource, values });

  const lines: string[] = [];
  for (const w of policy.warnings) lines.push(`warning: ${w}`);
  lines.push(`request: ${request.action} by ${request.principalArn} on ${request.resource}`);

  if (document.verified) {
    lines.push(`document: verified (module ${document.moduleId}, timestamp ${new Date(document.timestamp).toISOString()}${document.rootSha256 ? `, root sha256 ${document.rootSha256}` : ''})`);
    if (isDebug(document.pcrs)) lines.push('warning: the document comes from a debug-mode enclave (PCR0-2 all zero): it proves nothing about the code');
    const values = { ...base, ...attestationConditionValues(document.pcrs) };
    const decision = evaluate(values);
    lines.push('statements:', ...statementLines(decision), verdictLine(decision, request.action));
    const allowed = request.identityPolicies === undefined ? decision.allowed : withIdentity(policy, request, values, lines);
    return { allowed, decision, lines };
  }

  lines.push(`document: NOT VERIFIED (${document.error.code}: ${document.error.message})`);
  lines.push('  KMS sets no kms:RecipientAttestation:* value for a document that does not verify.');
  const decision = evaluate(base);
  if (document.pcrs !== undefined) {
    const diagnosis = evaluate({ ...base, ...attestationConditionValues(document.pcrs) });
    lines.push(`diagnosis only, with the document's unverified PCRs the policy would ${diagnosis.allowed ? 'allow' : 'deny'}:`, ...statementLines(diagnosis));
  } else {
    lines.push('statements:', ...statementLines(decision));
  }
  lines.push(`verdict: DENY (the attestation document does not verify${decision.allowed ? '; the policy alone would allow this request without any attestation condition' : ''})`);
  return { allowed: false, decision, lines };
}
