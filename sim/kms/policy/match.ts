/**
 * Matching primitives of the IAM policy language, as KMS key policies use them.
 *
 * - Wildcards: `*` matches any run of characters (including none), `?` exactly one
 *   ("IAM JSON policy elements: Action / Resource", and StringLike in "Condition operators").
 *   Implemented as the classic greedy two-pointer glob with backtracking to the last `*`:
 *   O(len(pattern) * len(text)) at worst, no regular expressions, so a hostile pattern cannot cause
 *   catastrophic backtracking.
 * - Action names are case-insensitive ("IAM JSON policy elements: Action": "kms:decrypt" and
 *   "kms:Decrypt" are the same action); resource ARNs and string values are case-sensitive.
 */

export function wildcardMatch(pattern: string, text: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const t = ignoreCase ? text.toLowerCase() : text;
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    const pc = p[pi];
    if (pc === '*') {
      starP = pi++;
      starT = ti;
    } else if (pc !== undefined && (pc === '?' || pc === t[ti])) {
      pi++;
      ti++;
    } else if (starP >= 0) {
      pi = starP + 1;
      ti = ++starT;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** `*`, `kms:*`, `kms:Generate*`, `kms:Decrypt` against a request action such as `kms:Decrypt`. */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatch(pattern, action, true);
}

/** `*` or an ARN pattern against the key ARN of the request (case-sensitive, wildcards allowed). */
export function resourceMatches(pattern: string, resource: string): boolean {
  return wildcardMatch(pattern, resource, false);
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** `arn:partition:service:region:account:resource` (the resource part may itself hold colons). */
export function parseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

/**
 * ArnEquals / ArnLike ("Condition operators", ARN condition operators): the ARN is split into its six
 * colon-delimited components and each component is matched on its own, case-sensitively, with `*`
 * and `?` wildcards. ArnEquals and ArnLike behave identically.
 */
export function arnLikeMatches(pattern: string, value: string): boolean {
  const p = splitArn6(pattern);
  const v = splitArn6(value);
  if (p === undefined || v === undefined) return false;
  return p.every((component, i) => wildcardMatch(component, v[i]!, false));
}

function splitArn6(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}
