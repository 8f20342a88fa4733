/**
 * Sealing with the AWS Encryption SDK, as a producer service does: a KMS keyring on the card key,
 * and the encryption context of each operation. The enclave accepts an ESDK message only when one
 * of its data keys is under the configured card key, which only producers may use, and when its
 * encryption context names the operation's purpose (docs/architecture.md "Trust model": sealed is
 * bound to its purpose).
 *
 * `@aws-crypto/client-node` is loaded on first use, so `enclavekit/client` stays light for callers
 * that only verify documents or seal with HPKE.
 */
import type { KMS } from '@aws-sdk/client-kms';
import type { KmsKeyringNode, KmsKeyringNodeInput } from '@aws-crypto/client-node';
import { sealedInputInfo, type SealedPurpose } from '../shared/hpke/suite.js';

/**
 * The operations of the card and PII API that take sealed input, and the `purpose` each requires
 * in the encryption context (docs/api.md "Sealed inputs"). blind-index also binds the field:
 * `{purpose: 'pii-value', field}`, so a value sealed for one field is refused for another.
 */
export const ESDK_PURPOSE = {
  tokenize: 'card',
  'tokenize-batch': 'card',
  redact: 'pii-text',
  'blind-index': 'pii-value',
} as const satisfies Record<string, SealedPurpose>;

export type SealedOperation = keyof typeof ESDK_PURPOSE;

/** A fresh copy of the encryption context `operation` requires; `field` is required for blind-index and refused elsewhere. */
export function esdkEncryptionContext(operation: SealedOperation, field?: string): Record<string, string> {
  if (!Object.hasOwn(ESDK_PURPOSE, operation)) throw new RangeError('esdkEncryptionContext: unknown operation');
  const purpose = ESDK_PURPOSE[operation];
  // The same names and rules as the HPKE info (shared/hpke/suite.ts): it throws on a bad field.
  sealedInputInfo(purpose, field);
  if (purpose !== 'pii-value' && field !== undefined) throw new RangeError(`esdkEncryptionContext: ${operation} takes no field`);
  return field === undefined ? { purpose } : { purpose, field };
}

export interface EsdkKeyringOptions {
  /** ARN of the card key (the enclave's `cards.cardKeyArn`). */
  cardKeyArn: string;
  /** The producer's own KMS client (AWS SDK v3 `KMS`), with credentials allowed to GenerateDataKey under the card key. */
  kms: KMS;
}

/** A KMS keyring that generates each message's data key under the card key. */
export async function createEsdkKeyring(options: EsdkKeyringOptions): Promise<KmsKeyringNode> {
  const { KmsKeyringNode } = await import('@aws-crypto/client-node');
  // The keyring calls the aggregated client's methods (docs/formats.md library traps); its own
  // client type predates the SDK v3 output types (optional fields), hence the cast.
  type Provider = NonNullable<KmsKeyringNodeInput['clientProvider']>;
  const clientProvider: Provider = () => options.kms as unknown as ReturnType<Provider>;
  return new KmsKeyringNode({ generatorKeyId: options.cardKeyArn, clientProvider });
}

export interface EsdkSealOptions {
  keyring: KmsKeyringNode;
  /** The field a blind-index value is for (required for blind-index). */
  field?: string;
}

/**
 * Encrypts `plaintext` for `operation` with a key-committing suite (the enclave refuses others)
 * and returns the sealed input of the HTTP API, `{"esdk": base64}`.
 */
export async function sealWithEsdk(plaintext: Uint8Array, operation: SealedOperation, options: EsdkSealOptions): Promise<{ esdk: string }> {
  const { buildClient, CommitmentPolicy } = await import('@aws-crypto/client-node');
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { result } = await encrypt(options.keyring, plaintext, { encryptionContext: esdkEncryptionContext(operation, options.field) });
  return { esdk: Buffer.from(result).toString('base64') };
}

/** A card as the tokenize operation reads it. */
export interface EsdkCard {
  pan: string;
  /** "MM/YY" */
  exp: string;
  cvc?: string;
  name?: string;
}

/** `sealWithEsdk` of the card's JSON for tokenize; the plaintext buffer is zeroed afterwards. */
export async function sealCardWithEsdk(card: EsdkCard, options: EsdkSealOptions): Promise<{ esdk: string }> {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ pan: card.pan, exp: card.exp, ...(card.cvc === undefined ? {} : { cvc: card.cvc }), ...(card.name === undefined ? {} : { name: card.name }) }),
  );
  try {
    return await sealWithEsdk(plaintext, 'tokenize', options);
  } finally {
    plaintext.fill(0);
  }
}
