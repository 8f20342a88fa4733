import { describe, expect, it } from 'vitest';
import {
  cardBucketKey,
  checkPublicPanLength,
  DEFAULT_CARD_RATE_LIMITS,
  expectedGuesses,
  PUBLIC_SUBMISSION_MIN_EXPECTED_GUESSES,
  RateLimiter,
  type RateLimitConfig,
} from '../../enclave/cards/rate-limit.js';
import { luhnValid } from '../../enclave/cards/luhn.js';
import { InputError } from '../../shared/errors.js';

function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}

const config: RateLimitConfig = {
  perKey: { capacity: 3, refillPerSecond: 1 / 60 }, // 3, then one a minute
  overall: { capacity: 10, refillPerSecond: 1 },
  maxTrackedKeys: 4,
};

describe('rate limiter (token buckets, injected clock)', () => {
  it('limits one key to its burst, then refills at its rate', () => {
    const c = clock();
    const rl = new RateLimiter(config, c.now);
    expect([rl.tryTake('k'), rl.tryTake('k'), rl.tryTake('k'), rl.tryTake('k')]).toEqual([true, true, true, false]);
    c.advance(59_000);
    expect(rl.tryTake('k')).toBe(false);
    c.advance(1_000);
    expect(rl.tryTake('k')).toBe(true);
    expect(rl.tryTake('k')).toBe(false);
    expect(rl.tryTake('other')).toBe(true); // keys are independent
  });

  it('limits the total across keys with the overall bucket', () => {
    const c = clock();
    const rl = new RateLimiter({ ...config, maxTrackedKeys: 100 }, c.now);
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (rl.tryTake(`key-${i}`)) allowed++;
    expect(allowed).toBe(10);
    c.advance(2_000);
    expect(rl.tryTake('key-fresh-1')).toBe(true);
    expect(rl.tryTake('key-fresh-2')).toBe(true);
    expect(rl.tryTake('key-fresh-3')).toBe(false);
  });

  it('a refusal consumes nothing and tracks no new key', () => {
    const c = clock();
    const rl = new RateLimiter({ ...config, overall: { capacity: 1, refillPerSecond: 0 } }, c.now);
    expect(rl.tryTake('a')).toBe(true);
    expect(rl.tryTake('b')).toBe(false);
    expect(rl.stats().trackedKeys).toBe(1);
  });

  it('keeps memory bounded, evicting the least recently used key', () => {
    const c = clock();
    const rl = new RateLimiter({ ...config, overall: { capacity: 1000, refillPerSecond: 0 } }, c.now);
    for (let i = 0; i < 100; i++) {
      rl.tryTake(`k${i}`);
      expect(rl.stats().trackedKeys).toBeLessThanOrEqual(config.maxTrackedKeys);
    }
    // k96..k99 are tracked (not full); each new key evicted a non-full bucket.
    expect(rl.stats().evictedNonFull).toBe(96);
    // A recently used key survives new arrivals; the oldest goes.
    rl.tryTake('k96');
    rl.tryTake('new-1');
    rl.tryTake('new-2');
    rl.tryTake('new-3');
    expect([rl.tryTake('k96'), rl.tryTake('k96')]).toEqual([true, false]); // still tracked: 1 token left of 3
  });

  it('evicting a refilled bucket is not counted as a reset', () => {
    const c = clock();
    const rl = new RateLimiter({ ...config, maxTrackedKeys: 1 }, c.now);
    rl.tryTake('a');
    c.advance(60 * 60_000);
    rl.tryTake('b');
    expect(rl.stats()).toEqual({ trackedKeys: 1, evictedNonFull: 0 });
  });

  it('a clock that goes back adds no tokens', () => {
    const c = clock();
    const rl = new RateLimiter(config, c.now);
    for (let i = 0; i < 3; i++) rl.tryTake('k');
    c.advance(-3_600_000);
    expect(rl.tryTake('k')).toBe(false);
    c.advance(3_600_000 + 59_000);
    expect(rl.tryTake('k')).toBe(false);
    c.advance(1_000);
    expect(rl.tryTake('k')).toBe(true);
  });

  it('take() throws ERR_RATE_LIMITED without naming the key', () => {
    const rl = new RateLimiter(config, clock().now);
    const key = cardBucketKey('4111111111111111');
    expect(key).toBe('411111:1111');
    for (let i = 0; i < 3; i++) rl.take(key);
    let caught: unknown;
    try {
      rl.take(key);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).code).toBe('ERR_RATE_LIMITED');
    expect((caught as InputError).message).not.toContain('411111');
  });

  it('with the defaults, enumerating one (BIN, last 4) at 10/s gets at most 10 tries in an hour (burst 5 + 5 refilled)', () => {
    const c = clock();
    const rl = new RateLimiter(DEFAULT_CARD_RATE_LIMITS, c.now);
    const key = cardBucketKey('4111110000001111');
    let allowed = 0;
    for (let i = 0; i < 36_000; i++) {
      c.advance(100); // 10 candidates a second for an hour
      if (rl.tryTake(key)) allowed++;
    }
    expect(allowed).toBeGreaterThanOrEqual(9);
    expect(allowed).toBeLessThanOrEqual(10);
  });

  it('rejects nonsensical configuration and costs', () => {
    const now = clock().now;
    expect(() => new RateLimiter({ ...config, maxTrackedKeys: 0 }, now)).toThrow(RangeError);
    expect(() => new RateLimiter({ ...config, perKey: { capacity: 0, refillPerSecond: 1 } }, now)).toThrow(RangeError);
    expect(() => new RateLimiter({ ...config, overall: { capacity: 1, refillPerSecond: Number.NaN } }, now)).toThrow(RangeError);
    expect(() => new RateLimiter(config, now).tryTake('k', 0)).toThrow(RangeError);
  });
});

describe('public submission: expected guesses per PAN length', () => {
  it('matches a count of the Luhn-valid middles for a fixed BIN and last 4 (12-16 digits)', () => {
    for (const digits of [12, 13, 14, 15, 16]) {
      const middles = 10 ** (digits - 10);
      let valid = 0;
      for (let m = 0; m < middles; m++) if (luhnValid(`411111${String(m).padStart(digits - 10, '0')}1111`)) valid++;
      expect(expectedGuesses(digits)).toBe(valid / 2);
    }
  });

  it('refuses PAN lengths below the documented target (12-15 digits), accepts 16-19', () => {
    for (const digits of [12, 13, 14, 15]) {
      expect(expectedGuesses(digits)).toBeLessThan(PUBLIC_SUBMISSION_MIN_EXPECTED_GUESSES);
      expect(() => checkPublicPanLength('4'.repeat(digits))).toThrowError(expect.objectContaining({ code: 'ERR_SENDER_NOT_ALLOWED' }));
    }
    for (const digits of [16, 17, 18, 19]) expect(() => checkPublicPanLength('4'.repeat(digits))).not.toThrow();
  });
});
