/**
 * Opening the sealed inputs of the card and PII API inside the enclave: an AWS Encryption SDK
 * message under the configured KMS key (an authorised producer), or HPKE to the enclave's attested
 * key (Auth mode from an allowlisted sender; Base mode only with public submission on).
 * The plaintext is handed to `use` and zeroed afterwards, whatever happens.
 */
import { z } from 'zod';
import { HPKE_INFO, type HpkePurpose } from '../../shared/hpke/suite.js';
import type { SealedEnvelope } from '../../shared/hpke/envelope.js';
import { openSealedInput, type SenderPolicy } from '../hpke-open.js';
import type { HpkeRecipient } from '../../shared/hpke/open.js';
import { openEsdkRecord, type EsdkDecryptClient } from '../sealed/esdk.js';
import type { RequiredContext } from '../sealed/esdk-rules.js';

export const sealedInputSchema = z.union([
  z.strictObject({ esdk: z.instanceof(Uint8Array) }),
  z.strictObject({
    hpke: z.strictObject({ enc: z.instanceof(Uint8Array), ciphertext: z.instanceof(Uint8Array), sender: z.instanceof(Uint8Array).optional() }),
  }),
]);
export type SealedInput = z.infer<typeof sealedInputSchema>;

export interface SealedInputContext {
  kms: EsdkDecryptClient;
  cardKeyArn: string;
  recipient: HpkeRecipient;
  senderPolicy: SenderPolicy;
}

export interface OpenedInput {
  plaintext: Uint8Array;
  /** How it arrived: an ESDK producer, an allowlisted HPKE sender, or an anonymous submission. */
  origin: 'esdk' | 'hpke-auth' | 'hpke-public';
}

export async function withOpenedInput<T>(
  input: SealedInput,
  purpose: { hpke: HpkePurpose; esdkContext: RequiredContext; maxBytes: number },
  ctx: SealedInputContext,
  use: (opened: OpenedInput) => T | Promise<T>,
): Promise<T> {
  let opened: OpenedInput;
  if ('esdk' in input) {
    const record = await openEsdkRecord(input.esdk, { kms: ctx.kms, cardKeyArn: ctx.cardKeyArn, requiredContext: purpose.esdkContext, maxBodyBytes: purpose.maxBytes });
    opened = { plaintext: record.plaintext, origin: 'esdk' };
  } else {
    const envelope: SealedEnvelope = { enc: input.hpke.enc, ciphertext: input.hpke.ciphertext, ...(input.hpke.sender === undefined ? {} : { sender: input.hpke.sender }) };
    const result = await openSealedInput(ctx.recipient, envelope, { info: HPKE_INFO[purpose.hpke], policy: ctx.senderPolicy });
    opened = { plaintext: result.plaintext, origin: result.sender === null ? 'hpke-public' : 'hpke-auth' };
  }
  try {
    return await use(opened);
  } finally {
    opened.plaintext.fill(0);
  }
}
