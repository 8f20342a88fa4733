/**
 * In-enclave cache of plaintext data keys, with the AWS Encryption SDK's caching semantics
 * (max age, max messages and max bytes per entry, a capacity in entries) plus single-flight:
 * concurrent misses for one wrapped key share one KMS call.
 *
 * Keys are handed out by lease (`use(key, load, fn)`): the plaintext is only reachable inside `fn`,
 * and an entry evicted while leased is zeroed when its last lease ends, so eviction never pulls a
 * key out from under a caller and nothing outlives the cache zeroed.
 */

export interface DataKeyCacheLimits {
  /** Entry lifetime, ms from when KMS answered. ESDK: maxAge. */
  maxAgeMs: number;
  /** Records one entry may serve. ESDK: maxMessagesEncrypted (here: messages decrypted). */
  maxMessages: number;
  /** Record bytes one entry may serve. ESDK: maxBytesEncrypted. */
  maxBytes: number;
  /** Entries kept; the least recently used goes first. ESDK: capacity. */
  capacity: number;
}

export const DEFAULT_DATA_KEY_CACHE_LIMITS: Readonly<DataKeyCacheLimits> = Object.freeze({
  maxAgeMs: 5 * 60_000,
  maxMessages: 1_000_000,
  maxBytes: 2 ** 40,
  capacity: 1_000,
});

export interface DataKeyCacheStats {
  hits: number;
  misses: number;
  loads: number;
  evictions: number;
  entries: number;
}

interface Entry {
  key: Uint8Array;
  loadedAt: number;
  messages: number;
  bytes: number;
  leases: number;
  evicted: boolean;
}

export class DataKeyCache {
  readonly #limits: DataKeyCacheLimits;
  readonly #now: () => number;
  /** Map order is recency order: re-inserted on every hit. */
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  readonly #stats: DataKeyCacheStats = { hits: 0, misses: 0, loads: 0, evictions: 0, entries: 0 };

  constructor(limits: { [K in keyof DataKeyCacheLimits]?: number | undefined } = {}, now: () => number = Date.now) {
    const merged: DataKeyCacheLimits = { ...DEFAULT_DATA_KEY_CACHE_LIMITS };
    for (const [name, value] of Object.entries(limits)) if (value !== undefined) merged[name as keyof DataKeyCacheLimits] = value;
    for (const [name, value] of Object.entries(merged)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`data-key cache ${name} must be > 0`);
    }
    this.#limits = merged;
    this.#now = now;
  }

  stats(): DataKeyCacheStats {
    return { ...this.#stats, entries: this.#entries.size };
  }

  /**
   * Runs `fn` with the plaintext key for `cacheKey`, loading it with `load` on a miss (one load
   * per key however many callers miss at once). `recordBytes` counts toward the byte limit.
   * The buffer passed to `fn` must not be kept after `fn` settles.
   */
  async use<T>(
    cacheKey: string,
    load: () => Promise<Uint8Array>,
    recordBytes: number,
    fn: (key: Uint8Array) => T | Promise<T>,
  ): Promise<T> {
    const entry = await this.#acquire(cacheKey, load, recordBytes);
    try {
      return await fn(entry.key);
    } finally {
      entry.leases -= 1;
      if (entry.evicted && entry.leases === 0) entry.key.fill(0);
    }
  }

  /** Drops every entry (zeroing those not leased). */
  clear(): void {
    for (const [cacheKey, entry] of this.#entries) this.#evict(cacheKey, entry);
  }

  async #acquire(cacheKey: string, load: () => Promise<Uint8Array>, recordBytes: number): Promise<Entry> {
    for (;;) {
      const cached = this.#entries.get(cacheKey);
      if (cached !== undefined && this.#usable(cached, recordBytes)) {
        this.#stats.hits += 1;
        this.#entries.delete(cacheKey);
        this.#entries.set(cacheKey, cached);
        return this.#lease(cacheKey, cached, recordBytes);
      }
      if (cached !== undefined) this.#evict(cacheKey, cached);

      const pending = this.#inflight.get(cacheKey);
      if (pending !== undefined) {
        // Someone else is loading this key: share the result, then re-check the limits.
        await pending.catch(() => undefined);
        if (this.#entries.has(cacheKey)) continue;
        // The shared load failed (or its entry is already spent): load ourselves.
      }
      this.#stats.misses += 1;
      const loading = this.#load(cacheKey, load);
      this.#inflight.set(cacheKey, loading);
      try {
        const entry = await loading;
        return this.#lease(cacheKey, entry, recordBytes);
      } finally {
        if (this.#inflight.get(cacheKey) === loading) this.#inflight.delete(cacheKey);
      }
    }
  }

  async #load(cacheKey: string, load: () => Promise<Uint8Array>): Promise<Entry> {
    this.#stats.loads += 1;
    const key = await load();
    const entry: Entry = { key, loadedAt: this.#now(), messages: 0, bytes: 0, leases: 0, evicted: false };
    this.#entries.set(cacheKey, entry);
    while (this.#entries.size > this.#limits.capacity) {
      const oldest = this.#entries.entries().next().value;
      if (oldest === undefined) break;
      this.#evict(oldest[0], oldest[1]);
    }
    return entry;
  }

  #usable(entry: Entry, recordBytes: number): boolean {
    return (
      this.#now() - entry.loadedAt < this.#limits.maxAgeMs &&
      entry.messages + 1 <= this.#limits.maxMessages &&
      entry.bytes + recordBytes <= this.#limits.maxBytes
    );
  }

  #lease(cacheKey: string, entry: Entry, recordBytes: number): Entry {
    entry.leases += 1;
    entry.messages += 1;
    entry.bytes += recordBytes;
    // An entry that has just served its last allowed message leaves now, not at the next miss.
    if (entry.messages >= this.#limits.maxMessages || entry.bytes >= this.#limits.maxBytes) {
      this.#evict(cacheKey, entry);
    }
    return entry;
  }

  #evict(cacheKey: string, entry: Entry): void {
    if (this.#entries.get(cacheKey) === entry) this.#entries.delete(cacheKey);
    if (entry.evicted) return;
    entry.evicted = true;
    this.#stats.evictions += 1;
    if (entry.leases === 0) entry.key.fill(0);
  }
}
