/**
 * Format-preserving card tokens: a token has the PAN's length, keeps its first 6 digits (BIN) and
 * last 4 digits, and replaces the middle digits with their FF1 encryption (NIST SP 800-38G Rev. 1,
 * radix 10, AES-256) under the tokenization key. Tokens are deterministic: the same PAN gives the
 * same token on every enclave holding the same key, which is what makes them joinable.
 *
 * Tweak (documented contract; changing it changes every token):
 *   T = [0x01] ‖ ASCII(first 6 digits) ‖ ASCII(last 4 digits) ‖ [PAN length]^1   (12 bytes)
 * The leading byte versions the scheme. Binding BIN, last 4 and length into the tweak makes equal
 * middles under different visible digits encrypt differently, so each (BIN, last 4, length) has its
 * own permutation and one learned pair says nothing about other buckets.
 *
 * Minimum domain. SP 800-38G Rev. 1 §5.2 requires radix^minlen ≥ 1,000,000, i.e. at least 6
 * decimal digits per FF1 input. PAN lengths and what we do:
 * - 16-19 digits (middle 6-9 digits): FF1 on the middle directly.
 * - 14-15 digits (middle 4-5 digits; Diners 14, Amex 15): FF1 on a 6-digit domain with cycle
 *   walking (Black and Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002): the middle
 *   is read as a number below 10^k, left-padded to 6 digits, and encrypted repeatedly until the
 *   result is again below 10^k. This is a permutation of the k-digit middles built from a
 *   compliant FF1 instance (expected 10 FF1 calls for Amex, 100 for 14 digits). Residual: the
 *   number of FF1 calls, and so the time, depends on the value; an observer who can time the
 *   enclave learns only the walk length, not the middle digits.
 * - 12-13 digits (middle 2-3 digits): refused with ERR_INVALID_CARD (cycle walking would cost
 *   10^3-10^4 FF1 calls per token, and a 100- or 1000-value middle is no secret anyway).
 * Whatever the length, the middle is a small domain (about 10^5 Luhn-valid middles for 16 digits):
 * the protection against enumeration is that only authenticated producers reach this code
 * (docs/architecture.md "Trust model", rate-limit.ts), not the size of the domain.
 *
 * Tokens are not forced to fail (or pass) the Luhn check: about 1 token in 10 is Luhn-valid.
 *
 * Key material: see ff1.ts (no JavaScript copy of the key is kept; dispose() frees the OpenSSL
 * context). PANs and tokens are JavaScript strings, which cannot be zeroed.
 */
import { InputError } from '../../shared/errors.js';
import { Ff1 } from './ff1.js';

export const TOKENIZATION_KEY_BYTES = 32;
/** Shortest PAN we tokenize (see the file comment). */
export const TOKENIZE_MIN_PAN_LENGTH = 14;
export const TOKENIZE_MAX_PAN_LENGTH = 19;
const TWEAK_VERSION = 0x01;
/** FF1 input length used for cycle walking short middles: the smallest decimal length NIST allows. */
const WALK_DIGITS = 6;

export class Tokenizer {
  readonly #ff1: Ff1;

  /** @param key the 32-byte tokenization key (AES-256); not retained, the caller may zero it. */
  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== TOKENIZATION_KEY_BYTES) {
      throw new RangeError(`tokenization key must be ${TOKENIZATION_KEY_BYTES} bytes`);
    }
    this.#ff1 = new Ff1(key, 10);
  }

  /** The token for `pan` (ASCII digits, 14-19). Throws InputError ERR_INVALID_CARD otherwise. */
  tokenize(pan: string): string {
    if (!isDigits(pan)) throw new InputError('ERR_INVALID_CARD', 'card number cannot be tokenized');
    return this.#transform(pan, true);
  }

  /** The PAN behind `token`. For the enclave's own use (detokenize-to); never returned to the parent. */
  detokenize(token: string): string {
    if (!isDigits(token)) throw new InputError('ERR_INVALID_TOKEN', 'token is not a card token');
    return this.#transform(token, false);
  }

  /** Frees the FF1 key schedule; the tokenizer is unusable afterwards. */
  dispose(): void {
    this.#ff1.dispose();
  }

  #transform(digits: string, encrypt: boolean): string {
    const first6 = digits.slice(0, 6);
    const last4 = digits.slice(-4);
    const middle = digits.slice(6, -4);
    const tweak = tokenTweak(first6, last4, digits.length);
    let out: string;
    if (middle.length >= WALK_DIGITS) {
      out = encrypt ? this.#ff1.encrypt(middle, tweak) : this.#ff1.decrypt(middle, tweak);
    } else {
      out = this.#walk(middle, tweak, encrypt);
    }
    tweak.fill(0);
    return first6 + out + last4;
  }

  /**
   * Cycle walking: apply FF1 on 6 digits until the value fits the k-digit middle again. It ends
   * because the permutation's cycle through the start value returns to that value at the latest.
   */
  #walk(middle: string, tweak: Uint8Array, encrypt: boolean): string {
    const k = middle.length;
    const limit = 10 ** k;
    let value = middle.padStart(WALK_DIGITS, '0');
    do {
      value = encrypt ? this.#ff1.encrypt(value, tweak) : this.#ff1.decrypt(value, tweak);
    } while (Number(value) >= limit);
    return value.slice(WALK_DIGITS - k);
  }
}

/** The FF1 tweak for a PAN or token with these visible digits (see the file comment). */
export function tokenTweak(first6: string, last4: string, length: number): Uint8Array {
  const tweak = new Uint8Array(12);
  tweak[0] = TWEAK_VERSION;
  tweak.set(Buffer.from(first6, 'ascii'), 1);
  tweak.set(Buffer.from(last4, 'ascii'), 7);
  tweak[11] = length;
  return tweak;
}

function isDigits(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= TOKENIZE_MIN_PAN_LENGTH &&
    value.length <= TOKENIZE_MAX_PAN_LENGTH &&
    /^[0-9]+$/.test(value)
  );
}
