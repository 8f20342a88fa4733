/**
 * In-enclave rate limits for HPKE Base-mode "public submission" (docs/architecture.md "Trust
 * model"): a deterministic token is an oracle, and with BIN and last 4 visible only ~10^5
 * Luhn-valid middles remain per (BIN, last 4). Two token buckets must both allow a request: one
 * per (BIN, last 4) bucket key and one overall.
 *
 * Default arithmetic: a per-card bucket of 5 requests refilled at 5 per hour lets an attacker try
 * about 44,000 middles a year for one (BIN, last 4), so enumerating half of the ~10^5 Luhn-valid
 * middles takes over a year, while an honest payment page retrying a card a few times is never
 * refused. The overall bucket (burst 200, 50/s) bounds the total work and, with it, how fast
 * bucket eviction can be forced (below).
 *
 * Memory is bounded: at most `maxTrackedKeys` per-key buckets, least recently used evicted first.
 * Evicting a bucket that has refilled to capacity loses nothing. Evicting one that has not
 * refilled resets it; to force that an attacker must push `maxTrackedKeys` other keys through the
 * overall bucket first (100,000 keys at 50/s ≈ 33 minutes for 5 more tries on one card, so at
 * most ~14 instead of 5 tries an hour, while starving every honest submitter), which
 * `stats().evictedNonFull` makes visible. Refusing new keys instead would hand the same attacker
 * a denial of service on every new card.
 *
 * The clock is injected (`now: () => number`, ms); a clock that goes back is treated as no time
 * passing.
 */
import { InputError } from '../../shared/errors.js';

/**
 * Expected guesses to recover one PAN whose token is known, from public submission alone: a token
 * keeps BIN (6 digits) and last 4 (holding the Luhn check digit), so a PAN of n digits leaves
 * 10^(n-10) middles of which a tenth pass Luhn: 10^(n-11) candidates, half of them tried on average.
 * 16 digits: 50,000; 15: 5,000; 14: 500; 13: 50; 12: 5 (docs/security.md "Public submission").
 */
export function expectedGuesses(panDigits: number): number {
  return 10 ** (panDigits - 11) / 2;
}

/**
 * The documented target: recovering one PAN must take at least this many expected guesses.
 * 50,000 guesses is 10,000 hours (over a year) at the default 5 per hour per card, and 10,000
 * enclave restarts at the default burst of 5 (each one a KMS Decrypt event an operator sees).
 */
export const PUBLIC_SUBMISSION_MIN_EXPECTED_GUESSES = 50_000;
/** PANs shorter than this (12-15 digits) fall below the target: public submission refuses them. */
export const PUBLIC_SUBMISSION_MIN_PAN_DIGITS = 16;

/** Throws ERR_SENDER_NOT_ALLOWED for a PAN too short to submit anonymously (before any limiter work). */
export function checkPublicPanLength(pan: string): void {
  if (expectedGuesses(pan.length) < PUBLIC_SUBMISSION_MIN_EXPECTED_GUESSES) {
    throw new InputError('ERR_SENDER_NOT_ALLOWED', `public submission accepts PANs of ${PUBLIC_SUBMISSION_MIN_PAN_DIGITS} digits or more; shorter ones need an authenticated producer`);
  }
}

export interface TokenBucketConfig {
  /** Bucket size: the largest burst, in requests. */
  capacity: number;
  /** Refill rate, requests per second. */
  refillPerSecond: number;
}

export interface RateLimitConfig {
  perKey: TokenBucketConfig;
  overall: TokenBucketConfig;
  /** Most per-key buckets kept in memory. */
  maxTrackedKeys: number;
}

export const DEFAULT_CARD_RATE_LIMITS: Readonly<RateLimitConfig> = Object.freeze({
  perKey: Object.freeze({ capacity: 5, refillPerSecond: 5 / 3600 }),
  overall: Object.freeze({ capacity: 200, refillPerSecond: 50 }),
  maxTrackedKeys: 100_000,
});

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #config: RateLimitConfig;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #overall: Bucket;
  #evictedNonFull = 0;

  constructor(config: RateLimitConfig, now: () => number) {
    checkBucketConfig(config.perKey);
    checkBucketConfig(config.overall);
    if (!Number.isSafeInteger(config.maxTrackedKeys) || config.maxTrackedKeys < 1) {
      throw new RangeError('maxTrackedKeys must be a positive integer');
    }
    this.#config = { perKey: { ...config.perKey }, overall: { ...config.overall }, maxTrackedKeys: config.maxTrackedKeys };
    this.#now = now;
    this.#overall = { tokens: config.overall.capacity, at: now() };
  }

  /** Takes `cost` from the key's bucket and the overall bucket if both have it; false otherwise. */
  tryTake(key: string, cost = 1): boolean {
    if (!(cost > 0) || !Number.isFinite(cost)) throw new RangeError('cost must be a positive number');
    const now = this.#now();
    const overallTokens = refilled(this.#overall, this.#config.overall, now);
    const existing = this.#buckets.get(key);
    const keyTokens = existing === undefined ? this.#config.perKey.capacity : refilled(existing, this.#config.perKey, now);
    if (overallTokens < cost || keyTokens < cost) {
      // A refusal still records the refill so the buckets stay monotonic; it adds no new key.
      this.#overall.tokens = overallTokens;
      this.#overall.at = Math.max(this.#overall.at, now);
      if (existing !== undefined) {
        existing.tokens = keyTokens;
        existing.at = Math.max(existing.at, now);
      }
      return false;
    }
    this.#overall.tokens = overallTokens - cost;
    this.#overall.at = Math.max(this.#overall.at, now);
    if (existing !== undefined) {
      // Map order is insertion order: re-inserting moves the key to the most recent end.
      this.#buckets.delete(key);
      this.#buckets.set(key, { tokens: keyTokens - cost, at: Math.max(existing.at, now) });
    } else {
      this.#evictFor(now);
      this.#buckets.set(key, { tokens: keyTokens - cost, at: now });
    }
    return true;
  }

  /** Like tryTake, but throws InputError ERR_RATE_LIMITED when refused. */
  take(key: string, cost = 1): void {
    if (!this.tryTake(key, cost)) throw new InputError('ERR_RATE_LIMITED', 'rate limit exceeded');
  }

  stats(): { trackedKeys: number; evictedNonFull: number } {
    return { trackedKeys: this.#buckets.size, evictedNonFull: this.#evictedNonFull };
  }

  #evictFor(now: number): void {
    while (this.#buckets.size >= this.#config.maxTrackedKeys) {
      const oldest = this.#buckets.entries().next();
      if (oldest.done === true) return;
      const [key, bucket] = oldest.value;
      if (refilled(bucket, this.#config.perKey, now) < this.#config.perKey.capacity) this.#evictedNonFull++;
      this.#buckets.delete(key);
    }
  }
}

/** The per-card bucket key: BIN (first 6) and last 4 of the PAN. */
export function cardBucketKey(pan: string): string {
  return `${pan.slice(0, 6)}:${pan.slice(-4)}`;
}

function refilled(bucket: Bucket, config: TokenBucketConfig, now: number): number {
  const elapsedMs = Math.max(0, now - bucket.at);
  return Math.min(config.capacity, bucket.tokens + (elapsedMs / 1000) * config.refillPerSecond);
}

function checkBucketConfig(config: TokenBucketConfig): void {
  if (!(config.capacity >= 1) || !Number.isFinite(config.capacity)) throw new RangeError('bucket capacity must be ≥ 1');
  if (!(config.refillPerSecond >= 0) || !Number.isFinite(config.refillPerSecond)) {
    throw new RangeError('bucket refillPerSecond must be a finite number ≥ 0');
  }
}
