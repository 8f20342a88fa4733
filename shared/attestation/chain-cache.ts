/**
 * A bounded LRU of certificates already read and of chain links already proven.
 *
 * What is cached is only what follows from the bytes alone, so no check can be skipped:
 * - the parsed certificate (a pure function of its DER), keyed by the DER's SHA-256;
 * - for each certificate, the SHA-256s of issuers whose name chaining and signature over it
 *   verified (a pure function of the two DERs).
 * Everything that depends on the caller is evaluated on every verification from these facts:
 * anchoring on the caller's roots, validity at the caller's `at`, CA flags, pathLen and key usage
 * at the certificate's position in this chain. A document verified under other roots or at
 * another time therefore meets every check again; it only saves the parse and the signatures.
 */
import type { ParsedCertificate } from './certificate.js';

export interface CachedCertificate {
  certificate: ParsedCertificate;
  /** SHA-256 (hex) of each issuer whose signature over this certificate verified. */
  verifiedIssuers: Set<string>;
}

export interface ChainCacheOptions {
  /** Certificates kept; the least recently used are dropped beyond it. Each enclave adds ~2. */
  maxEntries?: number;
}

export const CHAIN_CACHE_DEFAULT_ENTRIES = 1024;

export class ChainCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, CachedCertificate>();

  constructor(options: ChainCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? CHAIN_CACHE_DEFAULT_ENTRIES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Looks up by SHA-256 hex and marks the entry most recently used. */
  get(sha256: string): CachedCertificate | undefined {
    const entry = this.entries.get(sha256);
    if (entry !== undefined) {
      // Map iteration order is insertion order: re-inserting moves the entry to the young end.
      this.entries.delete(sha256);
      this.entries.set(sha256, entry);
    }
    return entry;
  }

  /** Adds (or refreshes) a certificate and returns its entry. */
  add(certificate: ParsedCertificate): CachedCertificate {
    const existing = this.get(certificate.sha256);
    if (existing !== undefined) return existing;
    const entry: CachedCertificate = { certificate, verifiedIssuers: new Set() };
    this.entries.set(certificate.sha256, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
