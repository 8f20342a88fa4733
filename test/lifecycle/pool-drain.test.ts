/**
 * EnclavePool.add/drain, the parent's half of a zero-downtime update: a drained enclave gets no
 * new calls, its calls in flight are answered before its link closes, and the added enclave
 * serves from the moment it is ready.
 */
import { describe, expect, it } from 'vitest';
import { EnclaveLink } from '../../parent/enclave-link.js';
import { EnclavePool } from '../../parent/enclave-pool.js';
import type { FrameChannel } from '../../shared/protocol/channel.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';

function enclave(name: string, workMs: number) {
  let served = 0;
  const connect = async (): Promise<FrameChannel> => {
    const [parentSide, enclaveSide] = createMemoryChannelPair();
    new RpcPeer(enclaveSide, {
      handlers: {
        status: async () => ({ ready: true }),
        work: async () => {
          await new Promise((r) => setTimeout(r, workMs));
          served += 1;
          return name;
        },
      },
    });
    return parentSide;
  };
  return { link: new EnclaveLink({ connect, handlers: {}, url: name, backoff: { initialMs: 5, maxMs: 20 }, statusIntervalMs: 20 }), served: () => served };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('EnclavePool add and drain', () => {
  it("answers the drained enclave's calls in flight, then sends everything to the added one", async () => {
    const blue = enclave('blue', 30);
    const green = enclave('green', 1);
    const pool = new EnclavePool([blue.link]);
    pool.start();
    try {
      await until(() => blue.link.status().ready, 'blue ready');
      const inFlight = Array.from({ length: 10 }, () => pool.call('work', {}));
      await until(() => blue.link.inFlight() >= 10, 'calls in flight on blue');

      pool.add(green.link);
      await until(() => green.link.status().ready, 'green ready');
      const drained = pool.drain(blue.link, { timeoutMs: 5_000, pollMs: 2 });
      // While blue drains, new calls go to green only.
      const during = await Promise.all(Array.from({ length: 10 }, () => pool.call('work', {})));
      expect(new Set(during)).toEqual(new Set(['green']));
      expect(await drained).toBe(0);
      expect(await Promise.all(inFlight)).toEqual(Array(10).fill('blue'));
      expect(blue.served()).toBe(10);
      expect(pool.links).toEqual([green.link]);
      expect(blue.link.status().connected).toBe(false);
    } finally {
      pool.stop();
    }
  });

  it('reports the calls a drain had to cut when they outlive its timeout', async () => {
    const slow = enclave('slow', 2_000);
    const pool = new EnclavePool([slow.link]);
    pool.start();
    try {
      await until(() => slow.link.status().ready, 'ready');
      const call = pool.call('work', {}).catch((error: { code?: string }) => error.code);
      await until(() => slow.link.inFlight() === 1, 'in flight');
      expect(await pool.drain(slow.link, { timeoutMs: 20, pollMs: 2 })).toBe(1);
      expect(await call).toBe('ERR_CONNECTION_LOST');
    } finally {
      pool.stop();
    }
  });
});
