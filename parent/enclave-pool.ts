/**
 * Several enclaves behind one gateway (up to 4 per host): calls go to the ready enclave with the
 * fewest requests in flight, so one enclave can be replaced while the others keep serving.
 */
import { ServiceError } from '../shared/errors.js';
import type { EnclaveGateway, EnclaveStatus } from './enclave-gateway.js';
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

  async call(op: string, body: unknown, options: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    let best: EnclaveLink | undefined;
    for (const link of this.#links) {
      if (!link.status().ready) continue;
      if (best === undefined || link.load() < best.load()) best = link;
    }
    if (best === undefined) throw new ServiceError('ERR_ENCLAVE_UNAVAILABLE', this.status().reason ?? 'no enclave ready');
    return best.call(op, body, options);
  }

  start(): void {
    for (const link of this.#links) link.start();
  }

  stop(): void {
    for (const link of this.#links) link.stop();
  }
}
