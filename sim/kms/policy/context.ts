/**
 * Builders for the request context a KMS request carries into key-policy evaluation
 * (docs/formats.md 5.4; "AWS KMS condition keys": kms:EncryptionContext:context-key,
 * kms:EncryptionContextKeys, kms:CallerAccount, kms:ViaService; aws:PrincipalArn).
 */
import type { ConditionValue, PolicyDecision, PolicyRequest } from './types.js';
import { accountOfArn } from './principal.js';
import { accessDeniedText } from './authorize.js';

/**
 * `kms:RecipientAttestation:ImageSha384` (= PCR0) and `kms:RecipientAttestation:PCRn`, lower-case hex,
 * from a *verified* attestation document. KMS sets these only for a Recipient whose document
 * verifies: for an invalid or missing document, pass nothing, and every attestation condition fails.
 */
export function attestationConditionValues(pcrs: Readonly<Record<number, string>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [index, hex] of Object.entries(pcrs)) values[`kms:RecipientAttestation:PCR${index}`] = hex.toLowerCase();
  const pcr0 = pcrs[0];
  if (pcr0 !== undefined) values['kms:RecipientAttestation:ImageSha384'] = pcr0.toLowerCase();
  return values;
}

/**
 * `kms:RecipientAttestation:NitroTPMPCR<n>`, lower-case hex, from a *verified* NitroTPM document
 * ("Condition keys for NitroTPM", KMS Developer Guide). A NitroTPM document sets none of the enclave
 * keys (ImageSha384, PCRn), so enclave-bound statements never match it.
 */
export function nitroTpmConditionValues(pcrs: Readonly<Record<number, string>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [index, hex] of Object.entries(pcrs)) values[`kms:RecipientAttestation:NitroTPMPCR${index}`] = hex.toLowerCase();
  return values;
}

/** `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys` (absent when empty). */
export function encryptionContextConditionValues(context: Readonly<Record<string, string>> | undefined): Record<string, ConditionValue> {
  const values: Record<string, ConditionValue> = {};
  const keys = Object.keys(context ?? {});
  for (const key of keys) values[`kms:EncryptionContext:${key}`] = context![key];
  if (keys.length > 0) values['kms:EncryptionContextKeys'] = keys;
  return values;
}

/** `kms:CallerAccount` and `aws:PrincipalArn` of a caller (plus `kms:ViaService` when a service called). */
export function callerConditionValues(principalArn: string, viaService?: string): Record<string, ConditionValue> {
  const values: Record<string, ConditionValue> = { 'aws:PrincipalArn': principalArn };
  const account = accountOfArn(principalArn);
  if (account !== undefined) values['kms:CallerAccount'] = account;
  if (viaService !== undefined) values['kms:ViaService'] = viaService;
  return values;
}

/**
 * The AccessDeniedException message for a denial by the key policy alone (authorize.ts words every
 * case, identity policies included).
 */
export function accessDeniedMessage(request: Pick<PolicyRequest, 'principalArn' | 'action' | 'resource'>, decision: PolicyDecision): string {
  return accessDeniedText(request, decision.reason === 'explicit-deny' ? 'explicit-deny-resource' : 'no-resource-allow');
}
