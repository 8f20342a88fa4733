/**
 * One sentence for the first thing wrong with a value checked by a zod schema: the field (dotted
 * path) and the rule it breaks, e.g. `card.esdk: at most 65536 bytes`. Never the value itself
 * (docs/conventions.md item 1): an HTTP body field can hold a card number. zod 4's own messages
 * name only types and limits; the two that could carry caller text are rewritten here: an
 * unknown key (whose name is caller text) and a failed union (whose message lists every branch).
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

export interface DescribeOptions {
  /** Name unknown keys (fine for a config file we own; not for an HTTP body). Default false. */
  nameUnknownKeys?: boolean;
  /** The name of the whole value when the issue is at its root. Default `body`. */
  root?: string;
}

const pathText = (path: readonly PropertyKey[], root: string): string => (path.length === 0 ? root : path.map(String).join('.'));

/** A missing field reads as "required" rather than zod's "expected string, received undefined". */
const isMissing = (issue: Issue): boolean => issue.code === 'invalid_type' && / received undefined$/.test(issue.message);

export function describeIssue(issue: Issue, options: DescribeOptions = {}, prefix: readonly PropertyKey[] = []): string {
  const root = options.root ?? 'body';
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    // A branch that failed on exactly one field the caller did send is the shape they meant:
    // report that field; otherwise the union's own message says which shapes are accepted.
    const meant = issue.errors.find((branch) => branch.length === 1 && !isMissing(branch[0]!) && branch[0]!.code !== 'unrecognized_keys');
    if (meant !== undefined) return describeIssue(meant[0]!, options, path);
    return `${pathText(path, root)}: ${issue.message}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const keys = options.nameUnknownKeys === true ? ` (${issue.keys.join(', ')})` : '';
    return `${pathText(path, root)}: unknown field${issue.keys.length === 1 ? '' : 's'}${keys}`;
  }
  if (isMissing(issue)) return `${pathText(path, root)}: required`;
  return `${pathText(path, root)}: ${issue.message}`;
}
