/**
 * Bearer tokens and their scopes (docs/api.md "Tokens and scopes"). A token names the operations
 * it may call, and each detokenize recipient separately: a token that can tokenize need not be able
 * to send PANs anywhere.
 *
 * Scopes: `cards:tokenize` (tokenize, tokenize-batch), `cards:detokenize:<recipient>`,
 * `pii:redact`, `pii:blind-index`. A token given as a bare string (the older configuration form)
 * gets DEFAULT_SCOPES, which leave detokenize out.
 *
 * The check runs in constant time over all tokens (digests first, so lengths leak nothing either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InputError } from '../../shared/errors.js';

export const DEFAULT_SCOPES: readonly string[] = Object.freeze(['cards:tokenize', 'pii:redact', 'pii:blind-index']);
export const SCOPE_PATTERN = /^(cards:tokenize|pii:redact|pii:blind-index|cards:detokenize:[a-z0-9][a-z0-9._-]{0,63})$/;

/** A configured token: a bare string (DEFAULT_SCOPES) or a token with its own scopes. */
export type ApiToken = string | { token: string; scopes: readonly string[] };

/** What an authenticated request may do. */
export interface Grant {
  has(scope: string): boolean;
  /** Whether any of its scopes starts with `prefix` (detokenize: some recipient at all). */
  hasAnyStartingWith(prefix: string): boolean;
}

export function makeBearerCheck(tokens: readonly ApiToken[]): (headers: IncomingHttpHeaders) => Grant {
  const entries = tokens.map((t) => (typeof t === 'string' ? { token: t, scopes: DEFAULT_SCOPES } : t));
  if (entries.length === 0 || entries.some((t) => t.token.length < 16)) {
    throw new RangeError('API tokens must be at least 16 characters');
  }
  for (const { scopes } of entries) {
    const bad = scopes.find((scope) => !SCOPE_PATTERN.test(scope));
    if (bad !== undefined) throw new RangeError('unknown API token scope (see docs/api.md, "Tokens and scopes")');
  }
  const table = entries.map(({ token, scopes }) => ({ digest: createHash('sha256').update(token).digest(), scopes: new Set(scopes) }));
  return (headers) => {
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(headers.authorization ?? '');
    const presented = createHash('sha256').update(match?.[1] ?? '').digest();
    let found: ReadonlySet<string> | undefined;
    for (const entry of table) if (timingSafeEqual(entry.digest, presented) && found === undefined) found = entry.scopes;
    if (found === undefined || match === null) throw new InputError('ERR_UNAUTHORIZED', 'missing or invalid bearer token');
    const scopes = found;
    return { has: (scope) => scopes.has(scope), hasAnyStartingWith: (prefix) => [...scopes].some((scope) => scope.startsWith(prefix)) };
  };
}

/**
 * Throws 403 ERR_FORBIDDEN unless the grant holds `scope` (the scope name is config, not caller
 * data). A scope ending in `:` (`cards:detokenize:`) asks for any scope of that family: the
 * recipient's own is checked once the body names it.
 */
export function requireScope(grant: Grant | undefined, scope: string): void {
  if (grant === undefined || !(scope.endsWith(':') ? grant.hasAnyStartingWith(scope) : grant.has(scope))) {
    throw new InputError('ERR_FORBIDDEN', scope.startsWith('cards:detokenize:') ? 'token lacks the cards:detokenize scope for this recipient' : `token lacks the ${scope} scope`);
  }
}
