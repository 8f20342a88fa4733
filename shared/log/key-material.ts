/**
 * Does a log value hold key material? The log guard drops any field for which this names a kind.
 * The shapes, checked in this order:
 *
 * - pem: "-----BEGIN" anywhere (RFC 7468 §2). Certificates are public, but a PEM block in a log
 *   field is a copy-paste of key files far more often than a deliberate certificate log.
 * - aws-access-key-id: AKIA/ASIA followed by 16 upper-case letters or digits (IAM identifiers,
 *   "Understanding unique ID prefixes"). Not a secret alone, but it names the secret beside it.
 * - aws-secret-key: a base64-alphabet token of exactly 40 characters mixing upper case, lower case
 *   and digits (the shape of an AWS secret access key).
 * - hex: 32 or more hex digits in a row (128 bits and up), or 16 or more colon-separated hex bytes
 *   (how `openssl ... -text` prints private keys). SHA-256 fingerprints and PCR values match too:
 *   the guard cannot tell a hash from a key, so they are dropped unless the field is on the
 *   guard's digest allowlist (redaction-guard.ts). Canonical UUIDs (8-4-4-4-12, 32 hex digits in
 *   total) are request ids and kept; the same 32 digits without dashes are dropped, since a
 *   128-bit key looks exactly like that.
 * - base64: a run of the standard (RFC 4648 §4) or URL-safe (§5) alphabet of at least 22
 *   characters (16 bytes or more once decoded) that looks random rather than like text; see
 *   looksRandom below.
 */
import { maskUuids } from './pan.js';

export type KeyMaterialKind = 'pem' | 'aws-access-key-id' | 'aws-secret-key' | 'hex' | 'base64';

const PEM = /-----BEGIN/;
const AWS_ACCESS_KEY_ID = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/;
const LONG_HEX = /[0-9A-Fa-f]{32}/;
const COLON_HEX = /(?:[0-9A-Fa-f]{2}:){15}[0-9A-Fa-f]{2}/;
const STD_RUNS = /[A-Za-z0-9+/]{22,}/g;
const URL_RUNS = /[A-Za-z0-9_-]{22,}/g;

/** 16 bytes, base64-encoded without padding. */
export const BASE64_MIN_CHARS = 22;

/** The kind of key material found in `text`, or null. */
export function findKeyMaterial(text: string): KeyMaterialKind | null {
  if (PEM.test(text)) return 'pem';
  if (AWS_ACCESS_KEY_ID.test(text)) return 'aws-access-key-id';
  const masked = maskUuids(text);
  for (const m of masked.matchAll(STD_RUNS)) {
    if (m[0].length === 40 && hasMixedClasses(m[0])) return 'aws-secret-key';
  }
  if (LONG_HEX.test(masked) || COLON_HEX.test(masked)) return 'hex';
  for (const m of masked.matchAll(STD_RUNS)) if (looksRandom(m[0])) return 'base64';
  for (const m of masked.matchAll(URL_RUNS)) if (looksRandom(m[0])) return 'base64';
  return null;
}

function hasMixedClasses(token: string): boolean {
  return /[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9]/.test(token);
}

/**
 * Random base64 versus text that happens to use the base64 alphabet (AWS exception names,
 * camelCase identifiers, snake_case metric names, ERR_ codes, lower-case paths).
 *
 * Entropy is measured on the characters (at most 6 bits each), as secret scanners such as
 * detect-secrets do: the decoded bytes of a 16-byte key cannot show more than 4 bits per byte
 * and are too few to measure. Tokens mixing upper case, lower case and digits need less entropy
 * than tokens without digits, because text almost never mixes all three inside one word while
 * random base64 almost always does (a 22-character random token lacks a digit with probability
 * (54/64)^22 ≈ 2.4%).
 *
 * Thresholds, from 100,000 random keys per size (test/log/key-material.test.ts re-checks them
 * with fast-check): the 0.1% quantile of character entropy is 3.63 bits for 16-byte keys
 * (22 chars), 4.09 for 24 bytes (32 chars), 4.43 for 32 bytes (43 chars). English identifiers
 * stay below about 4.3 bits (letter frequencies), so tokens without digits need 4.5.
 */
export function looksRandom(token: string): boolean {
  const chars = token.length;
  if (chars < BASE64_MIN_CHARS) return false;
  if (!/[A-Z]/.test(token) || !/[a-z]/.test(token)) return false;
  const entropy = shannonEntropy(token);
  if (entropy >= 4.5) return true;
  if (!/[0-9]/.test(token)) return false;
  const threshold = chars < 32 ? 3.6 : chars < 43 ? 4.0 : 4.3;
  return entropy >= threshold;
}

/** Shannon entropy of the characters of `text`, bits per character. */
export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
