/**
 * Parses a KMS key policy into the checked, frozen form the evaluator runs on.
 *
 * Grammar: "IAM JSON policy element reference" (Version, Id, Statement; Sid, Effect, Principal /
 * NotPrincipal, Action / NotAction, Resource / NotResource, Condition) restricted to what KMS key
 * policies use. Anything else (an unknown element, a wrong type, an empty list or statement, an
 * operator the simulator does not evaluate) is refused with ERR_POLICY_MALFORMED and a message that
 * names the element, the way KMS refuses it with MalformedPolicyDocumentException. Refusing what we
 * cannot evaluate is deliberate: silently ignoring a condition would turn a restriction into an allow.
 *
 * Deliberate choices, documented in index.ts: element and operator names are case-sensitive as
 * documented by AWS; Principal ARNs carry no partial wildcards (IAM forbids them);
 * `kms:RecipientAttestation:` keys must be ImageSha384 or PCR0..PCR31 (the NSM has 32 PCRs,
 * docs/formats.md 5.4).
 */
import { InputError } from '../../../shared/errors.js';
import type {
  BaseOperator,
  ConditionClause,
  KeyPolicy,
  PatternBlock,
  PolicyEffect,
  PolicyStatement,
  PrincipalBlock,
  PrincipalEntry,
  PrincipalType,
  SetOperator,
} from './types.js';

/** KMS quota "Key policy document size": 32 KB (32,768 bytes). */
export const KEY_POLICY_MAX_BYTES = 32_768;

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_ELEMENTS = new Set([
  'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition',
]);
const PRINCIPAL_TYPES: readonly PrincipalType[] = ['AWS', 'Service', 'Federated', 'CanonicalUser'];

const BASE_OPERATORS: readonly BaseOperator[] = [
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike',
  'StringNotLike', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'Bool', 'Null',
];

const ACTION_RE = /^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/;
const CONDITION_KEY_RE = /^[A-Za-z0-9-]+:[^\s]+$/;
const ACCOUNT_RE = /^\d{12}$/;
const PRINCIPAL_ARN_RE = /^arn:[a-z0-9-]+:(iam|sts)::\d{12}:[^\s*?]+$/;
const ATTESTATION_PREFIX = 'kms:recipientattestation:';
const ATTESTATION_NAME_RE = /^(imagesha384|pcr([0-9]|[12][0-9]|3[01])|nitrotpmpcr([0-9]|1[0-9]|2[0-3]))$/;
const HEX384_RE = /^[0-9a-f]{96}$/;

function malformed(message: string): InputError {
  return new InputError('ERR_POLICY_MALFORMED', `malformed key policy: ${message}`);
}

/** Names taken from the input, quoted and cut short, so messages stay readable. */
function q(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A string or a non-empty array of strings. */
function stringList(value: unknown, path: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) {
    if (value.length === 0) throw malformed(`${path} is an empty list`);
    return value.map((item, i) => {
      if (typeof item !== 'string') throw malformed(`${path}[${i}] must be a string, not ${typeName(item)}`);
      return item;
    });
  }
  throw malformed(`${path} must be a string or a list of strings, not ${typeName(value)}`);
}

/**
 * Which kind of policy a document is. Key policies are resource-based: every statement names its
 * principals. Identity-based (IAM) policies are attached to a principal and must not name one
 * ("IAM JSON policy elements: Principal": "You cannot use the Principal element in an identity-based
 * policy"); their statements apply to the principal they are attached to.
 */
export type PolicyKind = 'key' | 'identity';

export function parseKeyPolicy(json: string | unknown): KeyPolicy {
  return parsePolicy(json, 'key');
}

/** An IAM identity-based policy document, parsed into the same form (every statement's principal is "any"). */
export function parseIdentityPolicy(json: string | unknown): KeyPolicy {
  try {
    return parsePolicy(json, 'identity');
  } catch (error) {
    // The element checks are shared with key policies; only the noun of the message differs.
    if (error instanceof InputError && error.message.startsWith('malformed key policy')) {
      throw new InputError('ERR_POLICY_MALFORMED', error.message.replace('malformed key policy', 'malformed identity policy'), { cause: error });
    }
    throw error;
  }
}

function parsePolicy(json: string | unknown, kind: PolicyKind): KeyPolicy {
  let doc: unknown = json;
  if (typeof json === 'string') {
    if (Buffer.byteLength(json, 'utf8') > KEY_POLICY_MAX_BYTES) {
      throw malformed(`the document exceeds ${KEY_POLICY_MAX_BYTES} bytes (KMS key policy size quota)`);
    }
    try {
      doc = JSON.parse(json);
    } catch (cause) {
      throw new InputError('ERR_POLICY_MALFORMED', 'malformed key policy: not valid JSON', { cause });
    }
  }
  if (!isObject(doc)) throw malformed(`the document must be a JSON object, not ${typeName(doc)}`);
  for (const name of Object.keys(doc)) {
    if (!TOP_LEVEL.has(name)) throw malformed(`unknown top-level element ${q(name)}`);
  }

  const version = doc['Version'];
  if (version !== undefined && (typeof version !== 'string' || !VERSIONS.has(version))) {
    throw malformed('Version must be "2012-10-17" or "2008-10-17"');
  }
  const id = doc['Id'];
  if (id !== undefined && typeof id !== 'string') throw malformed(`Id must be a string, not ${typeName(id)}`);

  const rawStatements = doc['Statement'];
  if (rawStatements === undefined) throw malformed('Statement is missing');
  const list = Array.isArray(rawStatements) ? rawStatements : [rawStatements];
  if (list.length === 0) throw malformed('Statement is an empty list');

  const warnings: string[] = [];
  const statements = list.map((raw, i) => parseStatement(raw, i, warnings, kind));
  return Object.freeze({
    version: version as string | undefined,
    id: id as string | undefined,
    statements: Object.freeze(statements),
    warnings: Object.freeze(warnings),
  });
}

function parseStatement(raw: unknown, index: number, warnings: string[], kind: PolicyKind): PolicyStatement {
  const path = `Statement[${index}]`;
  if (!isObject(raw)) throw malformed(`${path} must be an object, not ${typeName(raw)}`);
  const names = Object.keys(raw);
  if (names.length === 0) throw malformed(`${path} is empty`);
  for (const name of names) {
    if (!STATEMENT_ELEMENTS.has(name)) throw malformed(`${path} has unknown element ${q(name)}`);
  }

  const sid = raw['Sid'];
  if (sid !== undefined && typeof sid !== 'string') throw malformed(`${path}.Sid must be a string, not ${typeName(sid)}`);
  const label = sid === undefined || sid === '' ? path : sid;
  const where = sid === undefined || sid === '' ? path : `${path} (Sid ${q(sid)})`;

  const effect = raw['Effect'];
  if (effect === undefined) throw malformed(`${where}.Effect is missing`);
  if (effect !== 'Allow' && effect !== 'Deny') throw malformed(`${where}.Effect must be "Allow" or "Deny"`);

  const principal = kind === 'key' ? parsePrincipal(raw, where) : identityPrincipal(raw, where);
  const action = parsePatterns(raw, where, 'Action', 'NotAction', (p, at) => {
    if (p !== '*' && !ACTION_RE.test(p)) throw malformed(`${at} ${q(p)} is not an action ("service:Name", wildcards * and ?)`);
  });
  const resource = parsePatterns(raw, where, 'Resource', 'NotResource', (p, at) => {
    if (p !== '*' && (!p.startsWith('arn:') || /\s/.test(p))) throw malformed(`${at} ${q(p)} is not "*" or an ARN`);
  });
  const conditions = parseCondition(raw['Condition'], where, effect, warnings);

  return Object.freeze({
    index,
    sid: sid as string | undefined,
    label,
    effect: effect as PolicyEffect,
    principal,
    action,
    resource,
    conditions,
  });
}

function exactlyOne(raw: Record<string, unknown>, where: string, a: string, b: string): [string, unknown] {
  const hasA = raw[a] !== undefined;
  const hasB = raw[b] !== undefined;
  if (hasA && hasB) throw malformed(`${where} has both ${a} and ${b}`);
  if (!hasA && !hasB) throw malformed(`${where} has neither ${a} nor ${b}`);
  return hasA ? [a, raw[a]] : [b, raw[b]];
}

function parsePrincipal(raw: Record<string, unknown>, where: string): PrincipalBlock {
  // A key policy is a resource-based policy: every statement names its principals.
  const [name, value] = exactlyOne(raw, where, 'Principal', 'NotPrincipal');
  const negated = name === 'NotPrincipal';
  const at = `${where}.${name}`;
  if (value === '*') return Object.freeze({ negated, any: true, entries: Object.freeze([]) });
  if (!isObject(value)) throw malformed(`${at} must be "*" or an object such as {"AWS": ARN}, not ${typeName(value)}`);
  const types = Object.keys(value);
  if (types.length === 0) throw malformed(`${at} is empty`);
  let any = false;
  const entries: PrincipalEntry[] = [];
  for (const type of types) {
    if (!(PRINCIPAL_TYPES as readonly string[]).includes(type)) throw malformed(`${at} has unknown principal type ${q(type)}`);
    for (const v of stringList(value[type], `${at}.${type}`)) {
      if (type === 'AWS') {
        if (v === '*') {
          any = true;
          continue;
        }
        if (!ACCOUNT_RE.test(v) && !PRINCIPAL_ARN_RE.test(v)) {
          throw malformed(`${at}.AWS ${q(v)} is not "*", an account id or an IAM/STS principal ARN (no partial wildcards)`);
        }
      } else if (v === '' || /[\s*?]/.test(v)) {
        throw malformed(`${at}.${type} ${q(v)} is not a valid principal`);
      }
      entries.push(Object.freeze({ type: type as PrincipalType, value: v }));
    }
  }
  return Object.freeze({ negated, any, entries: Object.freeze(entries) });
}

const ANY_PRINCIPAL: PrincipalBlock = Object.freeze({ negated: false, any: true, entries: Object.freeze([]) });

function identityPrincipal(raw: Record<string, unknown>, where: string): PrincipalBlock {
  for (const name of ['Principal', 'NotPrincipal']) {
    if (raw[name] !== undefined) throw malformed(`${where} has ${name}, which an identity-based policy cannot have`);
  }
  return ANY_PRINCIPAL;
}

function parsePatterns(
  raw: Record<string, unknown>,
  where: string,
  positive: string,
  negative: string,
  check: (pattern: string, at: string) => void,
): PatternBlock {
  const [name, value] = exactlyOne(raw, where, positive, negative);
  const at = `${where}.${name}`;
  const patterns = stringList(value, at);
  for (const p of patterns) check(p, at);
  return Object.freeze({ negated: name === negative, patterns: Object.freeze(patterns) });
}

const NEGATED = new Set<BaseOperator>(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'ArnNotEquals', 'ArnNotLike']);

export function isNegatedOperator(base: BaseOperator): boolean {
  return NEGATED.has(base);
}

function parseOperator(name: string, at: string): { base: BaseOperator; set: SetOperator | undefined; ifExists: boolean } {
  let rest = name;
  let set: SetOperator | undefined;
  for (const prefix of ['ForAnyValue', 'ForAllValues'] as const) {
    if (rest.startsWith(`${prefix}:`)) {
      set = prefix;
      rest = rest.slice(prefix.length + 1);
    }
  }
  let ifExists = false;
  if (rest.endsWith('IfExists') && rest !== 'IfExists') {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const base = BASE_OPERATORS.find((op) => op === rest);
  if (base === undefined) {
    throw malformed(`${at} uses condition operator ${q(name)}, which is unknown or not evaluated by the enclavekit simulator`);
  }
  if (base === 'Null' && (ifExists || set !== undefined)) {
    throw malformed(`${at} uses ${q(name)}: Null takes neither a set prefix nor IfExists`);
  }
  return { base, set, ifExists };
}

function parseCondition(value: unknown, where: string, effect: PolicyEffect, warnings: string[]): readonly ConditionClause[] {
  if (value === undefined) return Object.freeze([]);
  const at = `${where}.Condition`;
  if (!isObject(value)) throw malformed(`${at} must be an object, not ${typeName(value)}`);
  const clauses: ConditionClause[] = [];
  for (const [operator, block] of Object.entries(value)) {
    const opAt = `${at}.${operator}`;
    const { base, set, ifExists } = parseOperator(operator, at);
    if (!isObject(block)) throw malformed(`${opAt} must be an object of condition keys, not ${typeName(block)}`);
    const keys = Object.keys(block);
    if (keys.length === 0) throw malformed(`${opAt} is empty`);
    for (const key of keys) {
      const keyAt = `${opAt}[${q(key)}]`;
      if (!CONDITION_KEY_RE.test(key)) throw malformed(`${opAt} has invalid condition key ${q(key)}`);
      const keyLower = key.toLowerCase();
      if (keyLower.startsWith(ATTESTATION_PREFIX) && !ATTESTATION_NAME_RE.test(keyLower.slice(ATTESTATION_PREFIX.length))) {
        throw malformed(`${opAt} has condition key ${q(key)}: kms:RecipientAttestation: takes ImageSha384, PCR0..PCR31 or NitroTPMPCR0..NitroTPMPCR23`);
      }
      const values = conditionValues(block[key], keyAt);
      if (base === 'Bool' || base === 'Null') {
        for (const v of values) {
          if (v.toLowerCase() !== 'true' && v.toLowerCase() !== 'false') throw malformed(`${keyAt}: ${base} takes "true" or "false"`);
        }
      }
      collectWarnings(warnings, { where, effect, operator, base, set, key, keyLower, values });
      clauses.push(Object.freeze({ operator, base, set, ifExists, key, keyLower, values: Object.freeze(values) }));
    }
  }
  return Object.freeze(clauses);
}

/** IAM accepts strings, numbers and booleans as condition values and compares their text. */
function conditionValues(value: unknown, at: string): string[] {
  const one = (v: unknown, vAt: string): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
    throw malformed(`${vAt} must be a string, number or boolean, not ${typeName(v)}`);
  };
  if (Array.isArray(value)) {
    if (value.length === 0) throw malformed(`${at} is an empty list`);
    return value.map((v, i) => one(v, `${at}[${i}]`));
  }
  return [one(value, at)];
}

function collectWarnings(
  warnings: string[],
  c: { where: string; effect: PolicyEffect; operator: string; base: BaseOperator; set: SetOperator | undefined; key: string; keyLower: string; values: string[] },
): void {
  if (c.set === 'ForAllValues' && c.effect === 'Allow') {
    warnings.push(`${c.where}: ${c.operator} on ${c.key} is also true when the request has no value for the key (IAM set-operator semantics)`);
  }
  if (!c.keyLower.startsWith(ATTESTATION_PREFIX) || c.base === 'Null') return;
  const caseSensitive = c.base === 'StringEquals' || c.base === 'StringNotEquals' || c.base === 'StringLike' || c.base === 'StringNotLike';
  for (const v of c.values) {
    if (caseSensitive && /[A-F]/.test(v)) {
      warnings.push(`${c.where}: ${c.key} value has upper-case hex but ${c.operator} is case-sensitive and KMS compares lower-case hex (docs/formats.md 5.4)`);
    } else if (!HEX384_RE.test(v.toLowerCase()) && !/[*?]/.test(v)) {
      warnings.push(`${c.where}: ${c.key} value is not a 96-digit hex SHA-384 measurement`);
    }
  }
}
