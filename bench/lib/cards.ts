/**
 * Test cards and their sealed forms for the card scenarios: Luhn-valid PANs from a seeded
 * generator (the same cards every run), sealed with HPKE Auth mode by the allowlisted producer to
 * an enclave's attested key, or with the AWS Encryption SDK by the client role.
 */
import { randomBytes } from 'node:crypto';
import { verifyAttestation } from '../../shared/attestation/index.js';
import { decodeHpkeUserData, HPKE_INFO, sealHpke, type SealedMessage } from '../../shared/hpke/index.js';
import { simRootPemPath } from '../../sim/state.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchStack } from './stack.js';

export interface TestCard {
  pan: string;
  exp: string;
  cvc: string;
}

function luhnCheckDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i += 1) {
    let digit = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

/** `count` distinct 16-digit Visa/Mastercard PANs (xorshift32 from `seed`), far-future expiry. */
export function testCards(count: number, seed = 42): TestCard[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const seen = new Set<string>();
  const cards: TestCard[] = [];
  while (cards.length < count) {
    let payload = next() < 0.5 ? '4' : '5' + String(1 + Math.floor(next() * 5));
    while (payload.length < 15) payload += String(Math.floor(next() * 10));
    const pan = payload + luhnCheckDigit(payload);
    if (seen.has(pan)) continue;
    seen.add(pan);
    cards.push({ pan, exp: `${String(1 + Math.floor(next() * 12)).padStart(2, '0')}/39`, cvc: String(100 + Math.floor(next() * 900)) });
  }
  return cards;
}

export function cardJson(card: TestCard): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(card));
}

/** The running enclave's HPKE key, read from a verified attestation document (as a client does). */
export async function enclaveHpkeKey(stack: BenchStack): Promise<Uint8Array> {
  const nonce = randomBytes(16);
  const answer = await stack.http.get(`/v1/attestation?nonce=${nonce.toString('hex')}`);
  if (answer.status !== 200) throw new Error(`GET /v1/attestation: ${answer.status} ${answer.body.slice(0, 200)}`);
  const document = new Uint8Array(Buffer.from((JSON.parse(answer.body) as { document: string }).document, 'base64'));
  const verified = verifyAttestation(document, {
    at: Date.now(),
    roots: [readFileSync(simRootPemPath(path.join(stack.dir, 'sim')), 'utf8')],
    expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! },
    nonce,
    maxAgeMs: 60_000,
  });
  return decodeHpkeUserData(verified.userData).hpke.publicKey;
}

export interface HpkeSealedCard extends SealedMessage {
  sender: Uint8Array;
}

export async function sealCardsHpke(cards: readonly TestCard[], recipientPublicKey: Uint8Array, sender: { privateKey: Uint8Array; publicKey: Uint8Array }): Promise<HpkeSealedCard[]> {
  const sealed: HpkeSealedCard[] = [];
  for (const card of cards) {
    const message = await sealHpke(recipientPublicKey, cardJson(card), { info: HPKE_INFO.card, senderPrivateKey: sender.privateKey });
    sealed.push({ ...message, sender: sender.publicKey });
  }
  return sealed;
}

/** The HTTP API's JSON form of a sealed card (docs/api.md). */
export function hpkeWire(sealed: HpkeSealedCard): { hpke: { enc: string; ciphertext: string; sender: string } } {
  const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  return { hpke: { enc: b64(sealed.enc), ciphertext: b64(sealed.ciphertext), sender: b64(sealed.sender) } };
}

/** What the enclave's handler receives for it once the RPC layer has decoded the frame. */
export function hpkeInProcess(sealed: HpkeSealedCard): { hpke: { enc: Uint8Array; ciphertext: Uint8Array; sender: Uint8Array } } {
  return { hpke: { enc: sealed.enc, ciphertext: sealed.ciphertext, sender: sealed.sender } };
}
