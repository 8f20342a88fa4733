/**
 * Request quota and injected faults, for reliability tests of KMS clients.
 *
 * Quotas: KMS shares one per-second request quota per key type among the cryptographic operations
 * (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html):
 * - symmetric: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom, and
 *   GenerateMac/VerifyMac with HMAC keys; 5,500/s by default (10,000 or 50,000 in some Regions);
 * - RSA: Encrypt, Decrypt, Sign, Verify with RSA keys; 500/s;
 * - ECC: Sign, Verify with ECC keys; 300/s.
 * Each is a token bucket of `perSecond` tokens refilled continuously; an empty bucket answers
 * ThrottlingException. With a pinned clock it never refills, which makes tests exact.
 *
 * Faults: added latency on every KMS request, and an error injected into a fraction of them.
 */
import { isKmsErrorName, type KmsErrorName } from './errors.js';

export const DEFAULT_QUOTA_PER_SECOND = 5_500;
export const DEFAULT_RSA_QUOTA_PER_SECOND = 500;
export const DEFAULT_ECC_QUOTA_PER_SECOND = 300;

/** The shared quota a metered request draws on. */
export type QuotaFamily = 'symmetric' | 'rsa' | 'ecc';

export class RequestQuota {
  private tokens: number;
  private last: number;
  private perSecond: number;

  constructor(perSecond: number, now: number) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
    this.last = now;
  }

  get limit(): number {
    return this.perSecond;
  }

  setLimit(perSecond: number, now: number): void {
    this.perSecond = perSecond;
    this.tokens = perSecond;
    this.last = now;
  }

  /** Takes one token; false means throttle. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.perSecond, this.tokens + (elapsed * this.perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per key type, following the limits in FaultSettings. */
export class QuotaSet {
  private readonly buckets: Record<QuotaFamily, RequestQuota>;

  constructor(settings: Readonly<FaultSettings>, now: number) {
    this.buckets = {
      symmetric: new RequestQuota(settings.quotaPerSecond, now),
      rsa: new RequestQuota(settings.rsaQuotaPerSecond, now),
      ecc: new RequestQuota(settings.eccQuotaPerSecond, now),
    };
  }

  /** Applies changed limits (a changed bucket starts full). */
  apply(settings: Readonly<FaultSettings>, now: number): void {
    const limits: Record<QuotaFamily, number> = { symmetric: settings.quotaPerSecond, rsa: settings.rsaQuotaPerSecond, ecc: settings.eccQuotaPerSecond };
    for (const family of Object.keys(limits) as QuotaFamily[]) {
      if (this.buckets[family].limit !== limits[family]) this.buckets[family].setLimit(limits[family], now);
    }
  }

  take(family: QuotaFamily, now: number): boolean {
    return this.buckets[family].take(now);
  }
}

export interface FaultSettings {
  /** Added to every KMS request before it is answered, ms. Default 0. */
  latencyMs: number;
  /** Fraction of KMS requests (0..1) answered with `failError` instead. Default 0. */
  failRate: number;
  /** Error name to inject. Default KMSInternalException (status 500). */
  failError: KmsErrorName;
  /** Operations the injected error applies to (e.g. ["Decrypt"]); empty = all. */
  failOperations: string[];
  /** Shared quota of cryptographic operations with symmetric (and HMAC) keys, requests per second. Default 5,500. */
  quotaPerSecond: number;
  /** Shared quota of cryptographic operations with RSA keys, requests per second. Default 500. */
  rsaQuotaPerSecond: number;
  /** Shared quota of cryptographic operations with ECC keys, requests per second. Default 300. */
  eccQuotaPerSecond: number;
}

export const DEFAULT_FAULTS: Readonly<FaultSettings> = Object.freeze({
  latencyMs: 0,
  failRate: 0,
  failError: 'KMSInternalException',
  failOperations: [],
  quotaPerSecond: DEFAULT_QUOTA_PER_SECOND,
  rsaQuotaPerSecond: DEFAULT_RSA_QUOTA_PER_SECOND,
  eccQuotaPerSecond: DEFAULT_ECC_QUOTA_PER_SECOND,
});

const QUOTAS = ['quotaPerSecond', 'rsaQuotaPerSecond', 'eccQuotaPerSecond'] as const;
const KNOWN = new Set(['latencyMs', 'failRate', 'failError', 'failOperations', ...QUOTAS]);

/**
 * Validates a partial update (from options or POST /__sim/faults) and merges it into `base`.
 * Throws RangeError naming the offending member; unknown members are refused.
 */
export function mergeFaultSettings(base: Readonly<FaultSettings>, update: unknown): FaultSettings {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw new RangeError('fault settings must be a JSON object');
  }
  const u = update as Record<string, unknown>;
  for (const key of Object.keys(u)) if (!KNOWN.has(key)) throw new RangeError(`unknown fault setting '${key}'`);
  const next: FaultSettings = { ...base, failOperations: [...base.failOperations] };
  if (u['latencyMs'] !== undefined) {
    const v = u['latencyMs'];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 60_000) throw new RangeError('latencyMs must be an integer in 0..60000');
    next.latencyMs = v;
  }
  if (u['failRate'] !== undefined) {
    const v = u['failRate'];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError('failRate must be a number in 0..1');
    next.failRate = v;
  }
  if (u['failError'] !== undefined) {
    const v = u['failError'];
    if (!isKmsErrorName(v)) throw new RangeError('failError must be a KMS error name, e.g. KMSInternalException');
    next.failError = v;
  }
  if (u['failOperations'] !== undefined) {
    const v = u['failOperations'];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new RangeError('failOperations must be a list of operation names');
    next.failOperations = [...(v as string[])];
  }
  for (const name of QUOTAS) {
    const v = u[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) throw new RangeError(`${name} must be an integer in 1..1000000`);
    next[name] = v;
  }
  return next;
}

/** mulberry32: a small seeded generator, so injected failures can be reproduced. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
