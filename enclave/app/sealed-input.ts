/**
 * Opening the sealed inputs of the card and PII API inside the enclave: an AWS Encryption SDK
 * message under the configured KMS key (an authorised producer), a value sealed offline to the
 * configured KMS RSA key's public key (enclave/sealed/kms-rsa.ts), or HPKE to the enclave's attested
 * key (Auth mode from an allowlisted sender; Base mode only with public submission on).
 * The plaintext is handed to `use` and zeroed afterwards, whatever happens.
 *
 * Operation binding (docs/security.md): every input is opened for one purpose (and, for
 * `pii-value`, one field), named in its authenticated data: the ESDK encryption context must carry
 * `purpose` (and `field`) with exactly these values, checked before any KMS call
 * (ERR_ENCRYPTION_CONTEXT); a kmsRsa input's tag covers the same label as HPKE's `info`
 * (ERR_DECRYPT_FAILED); HPKE opens only under the `info` naming them (ERR_DECRYPT_FAILED).
 * A value sealed for one operation is therefore refused by every other one.
 */
import { z } from 'zod';
import { SEALED_PURPOSES, sealedInputInfo } from '../../shared/hpke/suite.js';
import type { SealedEnvelope } from '../../shared/hpke/envelope.js';
import { openSealedInput, type SenderPolicy } from '../hpke-open.js';
import type { HpkeRecipient } from '../../shared/hpke/open.js';
import { openEsdkRecord, type EsdkDecryptClient } from '../sealed/esdk.js';
import { openKmsRsaInput, type KmsRsaKeyPin } from '../sealed/kms-rsa.js';

export const sealedInputSchema = z.union([
  z.strictObject({ esdk: z.instanceof(Uint8Array) }),
  z.strictObject({ kmsRsa: z.instanceof(Uint8Array) }),
  z.strictObject({
    hpke: z.strictObject({ enc: z.instanceof(Uint8Array), ciphertext: z.instanceof(Uint8Array), sender: z.instanceof(Uint8Array).optional() }),
  }),
]);
export type SealedInput = z.infer<typeof sealedInputSchema>;

export interface SealedInputContext {
  kms: EsdkDecryptClient;
  cardKeyArn: string;
  /** The KMS RSA key offline producers seal to (kmsRsa inputs); absent: none accepted. */
  rsaKey?: KmsRsaKeyPin | undefined;
  recipient: HpkeRecipient;
  senderPolicy: SenderPolicy;
}

export interface OpenedInput {
  plaintext: Uint8Array;
  /** How it arrived: an ESDK producer, an allowlisted HPKE sender, or an anonymous submission. */
  origin: 'esdk' | 'kms-rsa' | 'hpke-auth' | 'hpke-public';
}

/**
 * What an input is opened for: a built-in purpose (`card`, `pii-text`, `pii-value` with `field`) or
 * a custom handler's own purpose name, never a built-in one (its inputs would replay to it).
 */
export interface OpenFor {
  purpose: string;
  field?: string;
  /** Largest plaintext accepted, bytes. */
  maxBytes: number;
}

/**
 * For custom handlers (docs/api.md "Custom handlers"): opens `input` for the handler's own purpose.
 * A built-in purpose is refused (RangeError, a programming error): the parent could otherwise
 * replay the custom operation's inputs to the built-in one and back.
 */
export async function withOpenedInput<T>(
  input: SealedInput,
  purpose: OpenFor,
  ctx: SealedInputContext,
  use: (opened: OpenedInput) => T | Promise<T>,
): Promise<T> {
  if ((SEALED_PURPOSES as readonly string[]).includes(purpose.purpose)) {
    throw new RangeError(`purpose ${purpose.purpose} belongs to a built-in operation: give a custom operation its own purpose`);
  }
  return await withBuiltinInput(input, purpose, ctx, use);
}

/** The built-in operations' opener (enclave/app/handlers.ts): any valid purpose, built-in ones included. */
export async function withBuiltinInput<T>(
  input: SealedInput,
  purpose: OpenFor,
  ctx: SealedInputContext,
  use: (opened: OpenedInput) => T | Promise<T>,
): Promise<T> {
  let opened: OpenedInput;
  // Validates the names first, so a bad purpose is a programming error whichever format arrives.
  const info = sealedInputInfo(purpose.purpose, purpose.field);
  if ('esdk' in input) {
    const requiredContext = { purpose: purpose.purpose, ...(purpose.field === undefined ? {} : { field: purpose.field }) };
    const record = await openEsdkRecord(input.esdk, { kms: ctx.kms, cardKeyArn: ctx.cardKeyArn, requiredContext, maxBodyBytes: purpose.maxBytes });
    opened = { plaintext: record.plaintext, origin: 'esdk' };
  } else if ('kmsRsa' in input) {
    const plaintext = await openKmsRsaInput(input.kmsRsa, { kms: ctx.kms, key: ctx.rsaKey, purpose: purpose.purpose, field: purpose.field, maxBytes: purpose.maxBytes });
    opened = { plaintext, origin: 'kms-rsa' };
  } else {
    const envelope: SealedEnvelope = { enc: input.hpke.enc, ciphertext: input.hpke.ciphertext, ...(input.hpke.sender === undefined ? {} : { sender: input.hpke.sender }) };
    const result = await openSealedInput(ctx.recipient, envelope, { info, policy: ctx.senderPolicy });
    opened = { plaintext: result.plaintext, origin: result.sender === null ? 'hpke-public' : 'hpke-auth' };
  }
  try {
    return await use(opened);
  } finally {
    opened.plaintext.fill(0);
  }
}
