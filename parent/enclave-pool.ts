/**
 * Several enclaves behind one gateway (up to 4 per host): calls go to the ready enclave with the
 * fewest requests in flight, so one enclave can be replaced while the others keep serving.
 */
import { EnclaveKitError, ServiceError } from '../shared/errors.js';
import type { CallOptions, EnclaveGateway, EnclaveStatus } from './enclave-gateway.js';
import type { EnclaveLink } from './enclave-link.js';

export class EnclavePool implements EnclaveGateway {
  readonly #links: readonly EnclaveLink[];

  constructor(links: readonly EnclaveLink[]) {
    if (links.length === 0) throw new RangeError('an enclave pool needs at least one link');
    this.#links = links;
  }

  get links(): readonly EnclaveLink[] {
    return this.#links;
  }

  status(): EnclaveStatus {
    const statuses = this.#links.map((l) => l.status());
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
      const status = link.status();
      if (link === exclude || !(status.ready || (allowNotReady && status.connected))) continue;
      if (best === undefined || link.load() < best.load()) best = link;
    }
    return best;
  }

  start(): void {
    for (const link of this.#links) link.start();
  }

  stop(): void {
    for (const link of this.#links) link.stop();
  }
}
