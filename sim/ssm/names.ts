/**
 * Parameter names, ARNs, selectors and paths, by the rules of "Creating Parameter Store parameters"
 * and "Working with parameter hierarchies" (AWS Systems Manager User Guide): names of letters,
 * digits and `_.-/`, at most 1011 characters, a hierarchy of at most 15 levels starting with `/`,
 * not beginning with `aws` or `ssm`; a read may add `:version` or `:label` (a selector).
 */
import { AwsFault } from '../json-service/fault.js';
import { ssmParameterArn } from '../../shared/aws/ssm-parameter-arn.js';

export const NAME_MAX = 1011;
export const HIERARCHY_MAX_LEVELS = 15;
export const SECRETS_REFERENCE_PREFIX = '/aws/reference/secretsmanager/';
const NAME_CHARS = /^[a-zA-Z0-9_.\-/]+$/;
const RESERVED = /^\/?(aws|ssm)/i;

function invalid(message: string): AwsFault {
  return new AwsFault('ValidationException', message);
}

/** Checks a name for PutParameter (reads accept any name and answer ParameterNotFound). */
export function checkParameterName(name: string): void {
  if (name.length > NAME_MAX || !NAME_CHARS.test(name) || (name.includes('/') && !name.startsWith('/')) || name.includes('//') || (name.length > 1 && name.endsWith('/'))) {
    throw invalid('Parameter name must be a fully qualified name.');
  }
  if (RESERVED.test(name)) throw invalid('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
  if (name.startsWith('/') && name.split('/').length - 1 > HIERARCHY_MAX_LEVELS) {
    throw new AwsFault('HierarchyLevelLimitExceededException', `A hierarchy can have a maximum of ${HIERARCHY_MAX_LEVELS} levels.`);
  }
}

/** `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME` (a hierarchical name keeps a single slash). */
export function parameterArn(region: string, account: string, name: string): string {
  return ssmParameterArn({ partition: 'aws', region, account }, name);
}

/** Accepts a name or a parameter ARN of this region and account; returns the name. */
export function nameOf(value: string, region: string, account: string): string {
  const prefix = `arn:aws:ssm:${region}:${account}:parameter`;
  if (!value.startsWith('arn:')) return value;
  if (!value.startsWith(prefix + '/')) throw invalid('Parameter ARN is not valid for this account and Region.');
  const rest = value.slice(prefix.length);
  // A hierarchical name's ARN is parameter/a/b; a flat name's is parameter/name.
  return rest.indexOf('/', 1) === -1 ? rest.slice(1) : rest;
}

export type Selector = { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'label'; label: string };

/** `name`, `name:3` or `name:label`. */
export function splitSelector(value: string): { name: string; selector: Selector; text: string | undefined } {
  // An ARN's own colons end at ":parameter"; a name has none.
  const start = value.startsWith('arn:') ? value.indexOf(':parameter') + 1 : 0;
  const colon = value.indexOf(':', start);
  if (colon <= 0) return { name: value, selector: { kind: 'latest' }, text: undefined };
  const name = value.slice(0, colon);
  const text = value.slice(colon);
  const tail = value.slice(colon + 1);
  if (/^\d+$/.test(tail)) return { name, selector: { kind: 'version', version: Number(tail) }, text };
  return { name, selector: { kind: 'label', label: tail }, text };
}

/** LabelParameterVersion's label rules; returns false for a label AWS reports in InvalidLabels. */
export function isValidLabel(label: string): boolean {
  return label.length >= 1 && label.length <= 100 && /^[a-zA-Z0-9_.-]+$/.test(label) && !/^\d/.test(label) && !/^(aws|ssm)/i.test(label);
}

/**
 * GetParametersByPath: a parameter is under `path` when its name continues the path after a `/`;
 * without Recursive only one more level.
 */
export function isUnderPath(name: string, path: string, recursive: boolean): boolean {
  const base = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(base) || name.length === base.length) return false;
  return recursive || !name.slice(base.length).includes('/');
}
