/**
 * Which ESDK messages the enclave accepts ("Inputs must be authenticated, not only
 * encrypted"; docs/architecture.md trust model). Pure checks on a message's parsed layout, all made
 * before any KMS call:
 *
 * 1. Algorithm suite: key-committing suites only (message format 2). Without key commitment one
 *    ciphertext can decrypt to different plaintexts under different data keys (Albertini et al.,
 *    "How to Abuse and Fix Authenticated Encryption Without Key Commitment", USENIX Security 2022):
 *    a message carrying several encrypted data keys could show the enclave one card and an auditor
 *    another. The ESDK's REQUIRE_ENCRYPT_REQUIRE_DECRYPT policy refuses them as well; refusing here
 *    gives a typed error without spending a KMS call.
 *    Both committing suites are accepted by default. The signed one (0x0578) adds an ECDSA P-384
 *    footer that stops anyone who can only *decrypt* under the key from forging messages; under the
 *    toolkit's key policy only the attested enclave can decrypt, so the unsigned one (0x0478, about
 *    ten times cheaper, docs/formats.md library traps) is as authentic. `requireSignedSuite` narrows
 *    acceptance to the signed suite for keys whose policy lets other principals decrypt.
 * 2. Sender: one encrypted data key must be provider `aws-kms` with provider info equal to the
 *    configured card key ARN. Only producers may Encrypt / GenerateDataKey under that key (the
 *    generated key policy grants neither the parent nor the enclave role), so a data key the
 *    enclave can unwrap under it was made by a producer. The KMS keyring is then restricted to that
 *    ARN as well (esdk.ts), so no other data key in the message is ever sent to KMS.
 * 3. Encryption context: every required key present, with the required value when one is set. The
 *    context is authenticated twice over (KMS binds it to the data key; the header auth tag covers it).
 */
import { AlgorithmSuiteIdentifier } from '@aws-crypto/material-management-node';
import { InputError } from '../../shared/errors.js';
import type { EsdkMessageLayout } from './esdk-header.js';

/** The ESDK's KMS keyring provider id (aws-encryption-sdk-specification framework/aws-kms). */
export const KMS_PROVIDER_ID = 'aws-kms';

export const COMMITTING_SUITES: ReadonlySet<number> = new Set([
  AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
  AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
]);

/**
 * Encryption-context key → the value it must have, or null: present with any value. `purpose` is
 * always a value: it binds the message to one operation (docs/security.md "Operation binding"),
 * so there is no default that would accept any purpose.
 */
export type RequiredContext = Readonly<{ purpose: string } & Record<string, string | null>>;

export interface EsdkAcceptance {
  cardKeyArn: string;
  requiredContext: RequiredContext;
  requireSignedSuite: boolean;
}

const hex = (id: number): string => `0x${id.toString(16).padStart(4, '0')}`;

/** What the rules look at: from inspectEsdkMessage, or from the header the ESDK hands its CMM. */
export type EsdkHeaderFacts = Pick<EsdkMessageLayout, 'suiteId' | 'committing' | 'signed' | 'encryptedDataKeys' | 'encryptionContext'>;

/** Throws InputError (ERR_SEALED_INPUT_MALFORMED, ERR_SENDER_NOT_ALLOWED, ERR_ENCRYPTION_CONTEXT). */
export function checkEsdkAcceptance(layout: EsdkHeaderFacts, rules: EsdkAcceptance): void {
  // The suite id comes from the ESDK's own table, so naming it echoes no arbitrary input.
  if (!COMMITTING_SUITES.has(layout.suiteId) || !layout.committing) {
    throw new InputError(
      'ERR_SEALED_INPUT_MALFORMED',
      `ESDK algorithm suite ${hex(layout.suiteId)} is not accepted: only key-committing suites (0x0478, 0x0578) are`,
    );
  }
  if (rules.requireSignedSuite && !layout.signed) {
    throw new InputError('ERR_SEALED_INPUT_MALFORMED', `ESDK algorithm suite ${hex(layout.suiteId)} is not accepted: a signed suite (0x0578) is required`);
  }

  const fromCardKey = layout.encryptedDataKeys.some((edk) => edk.providerId === KMS_PROVIDER_ID && edk.providerInfo === rules.cardKeyArn);
  if (!fromCardKey) {
    throw new InputError('ERR_SENDER_NOT_ALLOWED', 'ESDK message has no data key wrapped by the configured card key');
  }

  checkRequiredContext(layout.encryptionContext, rules.requiredContext);
}

/** Key names come from configuration, values from the message: only the former appear in errors. */
export function checkRequiredContext(context: Readonly<Record<string, string>>, required: RequiredContext): void {
  for (const [key, value] of Object.entries(required)) {
    if (!Object.hasOwn(context, key)) {
      throw new InputError('ERR_ENCRYPTION_CONTEXT', `ESDK encryption context lacks the required key ${JSON.stringify(key)}`);
    }
    if (value !== null && context[key] !== value) {
      throw new InputError('ERR_ENCRYPTION_CONTEXT', `ESDK encryption context has the wrong value for ${JSON.stringify(key)}`);
    }
  }
}
