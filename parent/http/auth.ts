/** Bearer-token check in constant time (digests first, so lengths leak nothing either). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InputError } from '../../shared/errors.js';

export function makeBearerCheck(tokens: readonly string[]): (headers: IncomingHttpHeaders) => void {
  if (tokens.length === 0 || tokens.some((t) => t.length < 16)) {
    throw new RangeError('API tokens must be at least 16 characters');
  }
  const digests = tokens.map((t) => createHash('sha256').update(t).digest());
  return (headers) => {
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(headers.authorization ?? '');
    const presented = createHash('sha256').update(match?.[1] ?? '').digest();
    let ok = false;
    for (const digest of digests) ok = timingSafeEqual(digest, presented) || ok;
    if (!ok || match === null) throw new InputError('ERR_UNAUTHORIZED', 'missing or invalid bearer token');
  };
}
