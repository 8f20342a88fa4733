/**
 * Sealing with the AWS Encryption SDK, as a producer service does: a KMS keyring on the card key,
 * and the encryption context of each operation. The enclave accepts an ESDK message only when one
 * of its data keys is under the configured card key, which only producers may use, and when its
 * encryption context names the operation's purpose (docs/architecture.md "Trust model": sealed is
 * bound to its purpose). The contexts below are the enclave's defaults (`cards.requiredContext`,
 * `cards.piiRequiredContext`, docs/config.md); pass your own when the enclave is configured
 * otherwise.
 *
 * `@aws-crypto/client-node` is loaded on first use, so `enclavekit/client` stays light for callers
 * that only verify documents or seal with HPKE.
 */
import type { KMS } from '@aws-sdk/client-kms';
import type { KmsKeyringNode, KmsKeyringNodeInput } from '@aws-crypto/client-node';

/** The operations of the card and PII API that take sealed input, and the context each requires. */
export const ESDK_ENCRYPTION_CONTEXT = {
  tokenize: { purpose: 'card' },
  'tokenize-batch': { purpose: 'card' },
  redact: { purpose: 'pii' },
  'blind-index': { purpose: 'pii' },
} as const satisfies Record<string, Readonly<Record<string, string>>>;

export type SealedOperation = keyof typeof ESDK_ENCRYPTION_CONTEXT;

/** A fresh copy of the encryption context `operation` requires (by the enclave's default config). */
export function esdkEncryptionContext(operation: SealedOperation): Record<string, string> {
  if (!Object.hasOwn(ESDK_ENCRYPTION_CONTEXT, operation)) throw new RangeError('esdkEncryptionContext: unknown operation');
  return { ...ESDK_ENCRYPTION_CONTEXT[operation] };
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
  /** Replaces the operation's default context (when the enclave is configured with another). */
  encryptionContext?: Record<string, string>;
}

/**
 * Encrypts `plaintext` for `operation` with a key-committing suite (the enclave refuses others)
 * and returns the sealed input of the HTTP API, `{"esdk": base64}`.
 */
export async function sealWithEsdk(plaintext: Uint8Array, operation: SealedOperation, options: EsdkSealOptions): Promise<{ esdk: string }> {
  const { buildClient, CommitmentPolicy } = await import('@aws-crypto/client-node');
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { result } = await encrypt(options.keyring, plaintext, { encryptionContext: options.encryptionContext ?? esdkEncryptionContext(operation) });
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
