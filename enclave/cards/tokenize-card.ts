/**
 * The answer of the tokenize operation (`POST /v1/cards/tokenize`):
 * `{"token", "bin", "last4", "brand", "luhnValid", "expired"}`. Only derived facts: the CVC and
 * the name of the record are not used, and the PAN only through the tokenizer.
 */
import { detectBrand, type CardBrand } from './brand.js';
import type { CardRecord } from './card-record.js';
import { isExpired } from './expiry.js';
import { luhnValid } from './luhn.js';
import type { Tokenizer } from './tokenizer.js';

export interface CardTokenResult {
  token: string;
  /** First 6 digits of the PAN (also the first 6 of the token). */
  bin: string;
  last4: string;
  brand: CardBrand;
  luhnValid: boolean;
  /** Expired at `now` (see expiry.ts for the UTC end-of-month rule). */
  expired: boolean;
}

export function tokenizeCard(tokenizer: Tokenizer, card: CardRecord, now: number | Date): CardTokenResult {
  return {
    token: tokenizer.tokenize(card.pan),
    bin: card.pan.slice(0, 6),
    last4: card.pan.slice(-4),
    brand: detectBrand(card.pan),
    luhnValid: luhnValid(card.pan),
    expired: isExpired(card.expiry, now),
  };
}
