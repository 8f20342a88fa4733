/**
 * A bounded cache of certificates already read and of chain links already proven, in two tiers.
 *
 * What is cached is only what follows from the bytes alone, so no check can be skipped:
 * - the parsed certificate (a pure function of its DER), keyed by the DER's SHA-256, with its
 *   imported public key once a link below it needed it;
 * - for each certificate, the SHA-256s of issuers whose name chaining and signature over it
 *   verified (a pure function of the two DERs).
 * Everything that depends on the caller is evaluated on every verification from these facts:
 * anchoring on the caller's roots, validity at the caller's `at`, CA flags, pathLen and key usage
 * at the certificate's position in this chain. A document verified under other roots or at
 * another time therefore meets every check again; it only saves the parse and the signatures.
 *
 * Tiers: certificates met at a CA position (regional, zonal and instance CAs: the first two are
 * shared by every enclave of a Region, AWS Nitro Enclaves user guide, "Verifying the root of
 * trust") are kept apart from leaves, which are new at every enclave boot. When the bound is
 * reached leaves are evicted first, so a stream of new enclaves never pushes the Region's CAs
 * out: a new leaf under known CAs costs its own signature, its key import and the COSE signature.
 * Both tiers are least-recently-used within themselves.
 */
import type { ParsedCertificate } from './certificate.js';

export interface CachedCertificate {
  certificate: ParsedCertificate;
  /** SHA-256 (hex) of each issuer whose signature over this certificate verified. */
  verifiedIssuers: Set<string>;
}

export interface ChainCacheOptions {
  /** Certificates kept in both tiers together; beyond it the least recently used leaf goes first. */
  maxEntries?: number;
}

/** Where a certificate sat in the chain that added it. */
export type ChainRole = 'authority' | 'leaf';

export const CHAIN_CACHE_DEFAULT_ENTRIES = 1024;

export class ChainCache {
  readonly maxEntries: number;
  private readonly authorities = new Map<string, CachedCertificate>();
  private readonly leaves = new Map<string, CachedCertificate>();

  constructor(options: ChainCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? CHAIN_CACHE_DEFAULT_ENTRIES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.authorities.size + this.leaves.size;
  }

  /** Certificates held in the authority tier. */
  get authorityCount(): number {
    return this.authorities.size;
  }

  /** Looks up by SHA-256 hex in either tier and marks the entry most recently used in its tier. */
  get(sha256: string): CachedCertificate | undefined {
    return touch(this.authorities, sha256) ?? touch(this.leaves, sha256);
  }

  /**
   * Adds (or refreshes) a certificate and returns its entry. A certificate once seen as an
   * authority stays in that tier; a leaf later seen at a CA position moves up, links and all.
   */
  add(certificate: ParsedCertificate, role: ChainRole = 'leaf'): CachedCertificate {
    const sha256 = certificate.sha256;
    const authority = touch(this.authorities, sha256);
    if (authority !== undefined) return authority;
    let entry = this.leaves.get(sha256);
    if (entry !== undefined && role === 'leaf') return touch(this.leaves, sha256) as CachedCertificate;
    if (entry !== undefined) this.leaves.delete(sha256);
    entry ??= { certificate, verifiedIssuers: new Set() };
    (role === 'authority' ? this.authorities : this.leaves).set(sha256, entry);
    this.evict();
    return entry;
  }

  /** Drops every leaf, keeping the authorities: the state of a verifier meeting a new enclave. */
  forgetLeaves(): void {
    this.leaves.clear();
  }

  clear(): void {
    this.authorities.clear();
    this.leaves.clear();
  }

  private evict(): void {
    while (this.size > this.maxEntries) {
      const tier = this.leaves.size > 0 ? this.leaves : this.authorities;
      const oldest = tier.keys().next();
      if (oldest.done === true) break;
      tier.delete(oldest.value);
    }
  }
}

/** Map iteration order is insertion order: re-inserting moves an entry to the young end. */
function touch(tier: Map<string, CachedCertificate>, sha256: string): CachedCertificate | undefined {
  const entry = tier.get(sha256);
  if (entry !== undefined) {
    tier.delete(sha256);
    tier.set(sha256, entry);
  }
  return entry;
}
