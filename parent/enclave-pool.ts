/**
 * Several enclaves behind one gateway (up to 4 per host): calls go to the ready enclave with the
 * fewest requests in flight. Enclaves can be added and drained while the pool serves, so one
 * enclave can be replaced by another (a new build on a second CID) without a failed request.
 */
import { EnclaveKitError, ServiceError } from '../shared/errors.js';
import type { CallOptions, EnclaveGateway, EnclaveStatus } from './enclave-gateway.js';
import type { EnclaveLink } from './enclave-link.js';

export class EnclavePool implements EnclaveGateway {
  #links: EnclaveLink[];
  /** Links that take no new calls and leave once their calls in flight have answered. */
  readonly #draining = new Set<EnclaveLink>();
  #started = false;

  constructor(links: readonly EnclaveLink[]) {
    if (links.length === 0) throw new RangeError('an enclave pool needs at least one link');
    this.#links = [...links];
  }

  get links(): readonly EnclaveLink[] {
    return this.#links;
  }

  status(): EnclaveStatus {
    const statuses = this.#links.filter((l) => !this.#draining.has(l)).map((l) => l.status());
    const ready = statuses.filter((s) => s.ready).length;
    return {
      connected: statuses.some((s) => s.connected),
      ready: ready > 0,
      reason: ready > 0 ? undefined : (statuses.find((s) => s.reason !== undefined)?.reason ?? 'no enclave ready'),
    };
  }

  /**
   * Sends the call to the least-loaded ready enclave. When that enclave goes away before it
   * answered (ERR_CONNECTION_LOST: killed, restarted, being replaced), the call is retried once on
   * another ready enclave. Every enclave operation is safe to repeat: results are deterministic
   * (tokens, digests) or fresh (attestation), and none changes state outside the enclave.
   */
  async call(op: string, body: unknown, options: CallOptions = {}): Promise<unknown> {
    const { allowNotReady = false, ...rest } = options;
    const first = this.#pick(undefined, allowNotReady);
    if (first === undefined) throw new ServiceError('ERR_ENCLAVE_UNAVAILABLE', this.status().reason ?? 'no enclave ready');
    try {
      return await first.call(op, body, rest);
    } catch (error) {
      const lost = error instanceof EnclaveKitError && (error.code === 'ERR_CONNECTION_LOST' || error.code === 'ERR_ENCLAVE_UNAVAILABLE');
      const second = lost && options.signal?.aborted !== true ? this.#pick(first, allowNotReady) : undefined;
      if (second === undefined) throw error;
      return second.call(op, body, rest);
    }
  }

  #pick(exclude: EnclaveLink | undefined, allowNotReady: boolean): EnclaveLink | undefined {
    let best: EnclaveLink | undefined;
    for (const link of this.#links) {
      if (link === exclude || this.#draining.has(link)) continue;
      const status = link.status();
      if (!(status.ready || (allowNotReady && status.connected))) continue;
      if (best === undefined || link.load() < best.load()) best = link;
    }
    return best;
  }

  /** Adds an enclave; it takes calls once it reports ready. */
  add(link: EnclaveLink): void {
    this.#links.push(link);
    if (this.#started) link.start();
  }

  /**
   * Stops sending new calls to `link`, waits until its calls in flight have answered (at most
   * `timeoutMs`), then closes it and removes it from the pool. Returns the calls still in flight
   * when it closed (0 after a clean drain).
   */
  async drain(link: EnclaveLink, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<number> {
    if (!this.#links.includes(link)) throw new RangeError('drain: the link is not in this pool');
    this.#draining.add(link);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (link.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, options.pollMs ?? 20));
    const left = link.inFlight();
    link.stop();
    this.#draining.delete(link);
    this.#links = this.#links.filter((l) => l !== link);
    return left;
  }

  start(): void {
    this.#started = true;
    for (const link of this.#links) link.start();
  }

  stop(): void {
    this.#started = false;
    for (const link of this.#links) link.stop();
  }
}
