// A TypeScript consumer of the installed package, type-checked with `tsc --strict` in the
// temporary project (test/package/package.test.ts): the public types must be usable as published.
import {
  AttestationError,
  HpkeRecipient,
  openDetokenized,
  type DetokenizeToAnswer,
  createEsdkKeyring,
  esdkEncryptionContext,
  generateHpkeKeyPair,
  sealCardForEnclave,
  sealWithEsdk,
  verifyAttestation,
  type HpkeKeyPair,
  type SealedEnvelopeJson,
  type VerifiedAttestation,
  type VerifyOptions,
} from 'enclavekit/client';
import { AWS_NITRO_ROOT_G1_PEM, parseAttestation } from 'enclavekit/verify';
import type { KMS } from '@aws-sdk/client-kms';

export function check(document: Uint8Array, pcr0: string): VerifiedAttestation | string {
  const options: VerifyOptions = { at: Date.now(), roots: [AWS_NITRO_ROOT_G1_PEM], expectedPcrs: { 0: pcr0 }, maxAgeMs: 60_000 };
  try {
    return verifyAttestation(document, options);
  } catch (error) {
    if (error instanceof AttestationError) return error.code;
    throw error;
  }
}

export async function seal(document: Uint8Array, options: VerifyOptions, sender: HpkeKeyPair): Promise<{ card: { hpke: SealedEnvelopeJson } }> {
  const hpke = await sealCardForEnclave({ pan: '4111111111111111', exp: '12/30' }, { attestationDocument: document, verify: options, senderKey: sender.privateKey });
  return { card: { hpke } };
}

export async function sealPii(kms: KMS, cardKeyArn: string, text: string): Promise<{ text: { esdk: string } }> {
  const keyring = await createEsdkKeyring({ cardKeyArn, kms });
  // The context the operation binds (typed as the API's own): {purpose: 'pii-text'}.
  const context: Record<string, string> = esdkEncryptionContext('redact');
  if (context['purpose'] !== 'pii-text') throw new Error('unexpected redact context');
  return { text: await sealWithEsdk(new TextEncoder().encode(text), 'redact', { keyring }) };
}

export const moduleIdOf = (document: Uint8Array): string => parseAttestation(document).moduleId;
export const newSender: () => Promise<HpkeKeyPair> = generateHpkeKeyPair;

export async function openAnswer(answer: DetokenizeToAnswer, token: string, privateKey: Uint8Array, verify: VerifyOptions): Promise<string> {
  const recipient = await HpkeRecipient.fromPrivateKey(privateKey);
  return (await openDetokenized(answer, { token, recipient, verify })).pan;
}
