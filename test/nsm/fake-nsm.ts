/**
 * A tiny in-memory `Nsm` for transport tests: the semantics the NSM API defines (extend =
 * SHA384(old ‖ data), locked PCRs refuse, 32 PCRs), and a "document" that simply echoes the request
 * fields, so a test can see that they crossed the wire intact. Not the simulator (sim/nsm).
 */
import { createHash } from 'node:crypto';
import { NsmError } from '../../shared/nsm/codec.js';
import type { AttestationRequest, Nsm, NsmDescription, PcrDescription } from '../../shared/nsm/types.js';

export class FakeNsm implements Nsm {
  readonly pcrs = Array.from({ length: 32 }, () => new Uint8Array(48));
  readonly locked = new Set<number>();
  calls = 0;
  /** When set, every operation throws it (to test error mapping). */
  failWith: unknown;

  private enter(index?: number): void {
    this.calls += 1;
    if (this.failWith !== undefined) throw this.failWith;
    if (index !== undefined && (index < 0 || index >= this.pcrs.length)) throw new NsmError('InvalidIndex');
  }

  async describePcr(index: number): Promise<PcrDescription> {
    this.enter(index);
    return { lock: this.locked.has(index), data: this.pcrs[index]! };
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    this.enter(index);
    if (this.locked.has(index)) throw new NsmError('ReadOnlyIndex');
    const next = new Uint8Array(createHash('sha384').update(this.pcrs[index]!).update(data).digest());
    this.pcrs[index] = next;
    return next;
  }

  async lockPcr(index: number): Promise<void> {
    this.enter(index);
    this.locked.add(index);
  }

  async lockPcrs(range: number): Promise<void> {
    this.enter();
    if (range > this.pcrs.length) throw new NsmError('InvalidIndex');
    for (let i = 0; i < range; i += 1) this.locked.add(i);
  }

  async describeNsm(): Promise<NsmDescription> {
    this.enter();
    return {
      versionMajor: 1, versionMinor: 0, versionPatch: 0, moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
      maxPcrs: 32, lockedPcrs: [...this.locked].sort((a, b) => a - b), digest: 'SHA384',
    };
  }

  async attest(request: AttestationRequest): Promise<Uint8Array> {
    this.enter();
    const parts = [request.userData, request.nonce, request.publicKey].map((p) => (p === undefined ? 'none' : Buffer.from(p).toString('hex')));
    return new Uint8Array(Buffer.from(`doc:${parts.join(':')}`));
  }

  async getRandom(): Promise<Uint8Array> {
    this.enter();
    return new Uint8Array(256).fill(this.calls & 0xff);
  }
}
