/**
 * Grants, the pure part ("Grants in AWS KMS", KMS Developer Guide; CreateGrant API reference):
 * which operations a grant may carry for a key type, whether a grant lets a caller perform an
 * operation with a given encryption context, and the grant-token format.
 *
 * - A grant admits its grantee principal (the ARN, or sessions of a role ARN; an account root
 *   grantee admits the account's principals). It adds permissions; an explicit Deny in the key
 *   policy or the caller's IAM policies still wins.
 * - Constraints: EncryptionContextEquals (the request's context is exactly this map) or
 *   EncryptionContextSubset (the request's context contains every pair). They are accepted only when
 *   every grant operation takes an encryption context (or is CreateGrant / RetireGrant).
 */
import { randomBytes } from 'node:crypto';
import type { GrantRecord } from './key-store.js';
import { KEY_SPECS, type KeySpec, type KeyUsage } from './key-specs.js';
import { principalMatchVia } from './policy/index.js';

export const GRANT_OPERATIONS = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign',
  'Verify', 'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
] as const;

const COMMON = ['CreateGrant', 'RetireGrant', 'DescribeKey'];

/** The grant operations valid for a key type ("Grant operations" table of the KMS Developer Guide). */
export function grantOperationsFor(spec: KeySpec, usage: KeyUsage): readonly string[] {
  const family = KEY_SPECS[spec].family;
  if (family === 'symmetric') {
    return [...COMMON, 'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
      'GenerateDataKeyPairWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo'];
  }
  if (family === 'hmac') return [...COMMON, 'GenerateMac', 'VerifyMac'];
  if (usage === 'ENCRYPT_DECRYPT') return [...COMMON, 'Decrypt', 'Encrypt', 'GetPublicKey', 'ReEncryptFrom', 'ReEncryptTo'];
  return [...COMMON, 'Sign', 'Verify', 'GetPublicKey'];
}

/** Operations that take an encryption context, so a grant constraint can apply to them. */
const CONTEXT_OPERATIONS = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'CreateGrant', 'RetireGrant',
]);

export function constraintsAllowedFor(operations: readonly string[]): boolean {
  return operations.every((op) => CONTEXT_OPERATIONS.has(op));
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

export function constraintsMet(grant: GrantRecord, context: Readonly<Record<string, string>>): boolean {
  const c = grant.constraints;
  if (c === undefined) return true;
  if (c.encryptionContextEquals !== undefined && !sameMap(c.encryptionContextEquals, context)) return false;
  if (c.encryptionContextSubset !== undefined) {
    for (const [k, v] of Object.entries(c.encryptionContextSubset)) if (!Object.hasOwn(context, k) || context[k] !== v) return false;
  }
  return true;
}

/** How a grant's grantee admits a caller ('account': an account-root grantee, which delegates to IAM). */
export function granteeMatch(grant: GrantRecord, callerArn: string): 'direct' | 'account' | undefined {
  return principalMatchVia({ negated: false, any: false, entries: [{ type: 'AWS', value: grant.granteePrincipal }] }, callerArn);
}

/** A grant of `grants` that lets the caller perform `operation` with `context`, or undefined. */
export function grantFor(
  grants: readonly GrantRecord[],
  callerArn: string,
  operation: string,
  context: Readonly<Record<string, string>>,
  identityAllows: () => boolean,
): GrantRecord | undefined {
  return grants.find((g) => {
    if (!g.operations.includes(operation) || !constraintsMet(g, context)) return false;
    const match = granteeMatch(g, callerArn);
    return match === 'direct' || (match === 'account' && identityAllows());
  });
}

/** 64 hex digits, as KMS grant ids. */
export function newGrantId(): string {
  return randomBytes(32).toString('hex');
}

const TOKEN_PREFIX = 'AQpAM';
const TOKEN_RE = /^AQpAM[A-Za-z0-9_-]{86}$/;

/** An opaque grant token (KMS's are long base64 strings); the simulator checks only its form. */
export function newGrantToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(64).toString('base64url')}`;
}

export function isGrantToken(value: string): boolean {
  return TOKEN_RE.test(value);
}

export const GRANT_ID_RE = /^[0-9a-f]{64}$/;
