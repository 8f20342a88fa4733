/**
 * The readiness gate on the enclave clock follows what breaks: ready up to the limit (below SigV4's
 * 5-minute window), a warning event once per crossing of the warning threshold, not ready beyond
 * the limit, and a configuration that would let the limit pass the SigV4 window is refused.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLOCK_WARN_OFFSET_MS, DEFAULT_MAX_CLOCK_OFFSET_MS, judgeClockOffset, SIGV4_WINDOW_MS } from '../../parent/clock-gate.js';
import { parseParentConfig } from '../../parent/config.js';
import { EnclaveLink } from '../../parent/enclave-link.js';
import { ParentMetrics } from '../../parent/metrics.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';

const limits = { warnMs: 30_000, maxMs: 240_000 };
const minimal = { apiTokens: ['t'.repeat(16)], enclaves: ['vsock://16:5005'], region: 'us-east-1' };

describe('judgeClockOffset', () => {
  it.each([
    [0, 'ok'],
    [30_000, 'ok'],
    [30_001, 'warn'],
    [-45_000, 'warn'],
    [240_000, 'warn'],
    [240_001, 'unready'],
    [-299_000, 'unready'],
  ])('%i ms is %s', (offset, level) => {
    expect(judgeClockOffset(offset, limits).level).toBe(level);
  });

  it('names the limit and SigV4 window when unready', () => {
    const verdict = judgeClockOffset(250_000, limits);
    expect(verdict).toMatchObject({ level: 'unready', reason: expect.stringContaining('limit 240000 ms; SigV4 allows 300 s') });
  });
});

describe('parent config clock settings', () => {
  it('default to a warning at 30 s and unready at 4 minutes, inside the SigV4 window', () => {
    const config = parseParentConfig(minimal);
    expect(config.maxClockOffsetMs).toBe(DEFAULT_MAX_CLOCK_OFFSET_MS);
    expect(config.clockWarnOffsetMs).toBe(DEFAULT_CLOCK_WARN_OFFSET_MS);
    expect(DEFAULT_CLOCK_WARN_OFFSET_MS).toBeLessThan(DEFAULT_MAX_CLOCK_OFFSET_MS);
    expect(DEFAULT_MAX_CLOCK_OFFSET_MS).toBeLessThan(SIGV4_WINDOW_MS);
  });

  it.each([
    [{ maxClockOffsetMs: SIGV4_WINDOW_MS + 1 }, 'maxClockOffsetMs'],
    [{ clockWarnOffsetMs: 240_000 }, 'clockWarnOffsetMs'],
  ])('refuses %o', (extra, field) => {
    let error: unknown;
    try {
      parseParentConfig({ ...minimal, ...extra });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnclaveKitError);
    expect((error as Error).message).toContain(field);
  });
});

describe('EnclaveLink clock gate', () => {
  let skewMs = 0;
  const connect = async () => {
    const [parentSide, enclaveSide] = createMemoryChannelPair();
    new RpcPeer(enclaveSide, { handlers: { status: async () => ({ ready: true, now: Date.now() + skewMs }) } });
    return parentSide;
  };
  async function until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!check()) throw new Error(`timed out waiting for ${what}`);
  }

  it('stays ready with one warning per crossing, and refuses readiness beyond the limit', async () => {
    const events: { type: string; reason?: string }[] = [];
    let replies = 0;
    const link = new EnclaveLink({ connect, handlers: {}, statusIntervalMs: 10, maxClockOffsetMs: limits.maxMs, clockWarnOffsetMs: limits.warnMs, onEvent: (e) => events.push(e), onStatus: () => (replies += 1) });
    try {
      skewMs = 60_000;
      link.start();
      await until(() => replies >= 5, 'status replies');
      expect(link.status()).toMatchObject({ connected: true, ready: true });
      expect(events.filter((e) => e.type === 'clock-warning')).toHaveLength(1);
      // The offset is taken against the request's midpoint, so it is 60 s give or take the round trip.
      const reason = events.find((e) => e.type === 'clock-warning')?.reason ?? '';
      expect(reason).toMatch(/clock is \d+ ms off/);
      expect(Math.abs(Number(/clock is (\d+) ms off/.exec(reason)![1]) - 60_000)).toBeLessThan(1_000);

      skewMs = 0;
      await until(() => replies >= 10, 'status replies');
      skewMs = 60_000;
      const seen = replies;
      await until(() => replies >= seen + 5, 'status replies');
      expect(events.filter((e) => e.type === 'clock-warning')).toHaveLength(2); // a new crossing warns again

      skewMs = -250_000;
      await until(() => !link.status().ready, 'not ready beyond the limit');
      expect(link.status().reason).toContain('SigV4 allows 300 s');
    } finally {
      link.stop();
    }
  });
});

describe('clock metrics', () => {
  it('export the offset per enclave as enclavekit_clock_offset_seconds and the two thresholds', async () => {
    const metrics = new ParentMetrics({ routes: [], clockLimitsMs: limits });
    metrics.setEnclaveState('vsock://16:5005', { up: true, ready: true });
    metrics.ingestEnclaveStats('vsock://16:5005', { clockOffsetMs: { parent: 45_000 } });
    const text = await metrics.render();
    expect(text).toContain('enclavekit_clock_offset_seconds{enclave="vsock://16:5005",reference="parent"} 45');
    expect(text).toContain('enclavekit_clock_offset_limit_seconds{level="warn"} 30');
    expect(text).toContain('enclavekit_clock_offset_limit_seconds{level="unready"} 240');
  });
});
