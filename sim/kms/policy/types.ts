/**
 * The parsed form of a KMS key policy and the shapes of a request and a decision
 * (contract: /tmp team brief "KMS key policies: sim/kms/policy/"; extended with traces).
 */

export type PolicyEffect = 'Allow' | 'Deny';

/** Principal element types accepted in a key policy ("IAM JSON policy elements: Principal"). */
export type PrincipalType = 'AWS' | 'Service' | 'Federated' | 'CanonicalUser';

export interface PrincipalEntry {
  readonly type: PrincipalType;
  readonly value: string;
}

export interface PrincipalBlock {
  /** true for NotPrincipal. */
  readonly negated: boolean;
  /** `"Principal": "*"` or `{"AWS": "*"}`. */
  readonly any: boolean;
  readonly entries: readonly PrincipalEntry[];
}

export interface PatternBlock {
  /** true for NotAction / NotResource. */
  readonly negated: boolean;
  readonly patterns: readonly string[];
}

/** The condition operators the simulator evaluates (set prefix and IfExists suffix stripped). */
export type BaseOperator =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'ArnEquals'
  | 'ArnLike'
  | 'ArnNotEquals'
  | 'ArnNotLike'
  | 'Bool'
  | 'Null';

export type SetOperator = 'ForAnyValue' | 'ForAllValues';

/** One (operator, key) pair of a Condition block with its policy values (OR-ed, or NOR-ed if negated). */
export interface ConditionClause {
  /** As written in the policy, e.g. `ForAnyValue:StringEqualsIgnoreCase`. */
  readonly operator: string;
  readonly base: BaseOperator;
  readonly set: SetOperator | undefined;
  readonly ifExists: boolean;
  /** As written in the policy, e.g. `kms:RecipientAttestation:PCR0`. */
  readonly key: string;
  /** Lower-cased: condition key names are case-insensitive in IAM. */
  readonly keyLower: string;
  /** Policy values, as strings (JSON booleans and numbers are written as their text, as IAM does). */
  readonly values: readonly string[];
}

export interface PolicyStatement {
  readonly index: number;
  readonly sid: string | undefined;
  /** The Sid, or `Statement[i]` when the statement has none: how traces and messages name it. */
  readonly label: string;
  readonly effect: PolicyEffect;
  readonly principal: PrincipalBlock;
  readonly action: PatternBlock;
  readonly resource: PatternBlock;
  readonly conditions: readonly ConditionClause[];
}

export interface KeyPolicy {
  readonly version: string | undefined;
  readonly id: string | undefined;
  readonly statements: readonly PolicyStatement[];
  /**
   * Things that parse but probably do not do what the author meant (e.g. upper-case hex compared
   * with case-sensitive StringEquals against KMS's lower-case PCR values). Never affect evaluation.
   */
  readonly warnings: readonly string[];
}

export type ConditionValue = string | readonly string[] | boolean | undefined;

export interface PolicyRequest {
  /** The caller, e.g. `arn:aws:iam::111122223333:role/enclave` or an `sts ... assumed-role` session ARN. */
  principalArn: string;
  /** e.g. `kms:Decrypt`. */
  action: string;
  /** The key ARN. */
  resource: string;
  /**
   * Condition-key values of the request context, e.g. `kms:RecipientAttestation:PCR0`,
   * `kms:EncryptionContextKeys` (array), `kms:CallerAccount`, `kms:ViaService`, `aws:PrincipalArn`.
   * Key names are matched case-insensitively. `undefined` and an empty array mean "not present".
   */
  values: Readonly<Record<string, ConditionValue>>;
}

export interface ConditionFailure {
  /** The statement's label (Sid, or `Statement[i]`). */
  statement: string;
  /** As written, e.g. `StringEqualsIgnoreCase`. */
  operator: string;
  /** As written, e.g. `kms:RecipientAttestation:PCR0`. */
  key: string;
  /** The policy's values. */
  expected: readonly string[];
  /** The request's value (undefined: the key is absent from the request context). */
  actual: ConditionValue;
}

export interface StatementTrace {
  statement: string;
  effect: PolicyEffect;
  principalMatched: boolean;
  /** 'account': matched only through an account-root principal (delegation to IAM policies). */
  principalVia: 'direct' | 'account' | undefined;
  actionMatched: boolean;
  resourceMatched: boolean;
  /** Only evaluated when principal, action and resource matched; otherwise undefined. */
  conditionsMatched: boolean | undefined;
  /** The statement's effect applies to this request. */
  applied: boolean;
  failures: ConditionFailure[];
}

export interface PolicyDecision {
  allowed: boolean;
  reason: 'explicit-allow' | 'explicit-deny' | 'implicit-deny';
  /** The label of the deciding statement (the first applying Deny, else the first applying Allow). */
  statementSid?: string;
  /**
   * For an implicit deny: the failed conditions of every Allow statement whose principal, action and
   * resource matched (why it did not allow). Empty otherwise.
   */
  failures: ConditionFailure[];
  /** One entry per statement, in policy order. */
  statements: StatementTrace[];
}
