import { describe, expect, it } from 'vitest';
import { EnclaveLink } from '../../parent/enclave-link.js';
import { EnclavePool } from '../../parent/enclave-pool.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import type { FrameChannel } from '../../shared/protocol/channel.js';

/** One fake enclave per link; `down()` kills its current connection and refuses new ones. */
function enclave(name: string) {
  let peer: RpcPeer | undefined;
  let up = true;
  let served = 0;
  const connect = async (): Promise<FrameChannel> => {
    if (!up) throw new Error('ECONNREFUSED');
    const [parentSide, enclaveSide] = createMemoryChannelPair();
    peer = new RpcPeer(enclaveSide, {
      handlers: {
        status: async () => ({ ready: true }),
        work: async (body) => {
          served += 1;
          await new Promise((r) => setTimeout(r, 2));
          return { by: name, body };
        },
      },
    });
    return parentSide;
  };
  return {
    link: new EnclaveLink({ connect, handlers: {}, backoff: { initialMs: 5, maxMs: 20 }, statusIntervalMs: 20 }),
    down: () => {
      up = false;
      peer?.close();
    },
    up: () => (up = true),
    served: () => served,
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('EnclavePool', () => {
  it('spreads calls over ready enclaves and replaces one without failing requests', async () => {
    const a = enclave('a');
    const b = enclave('b');
    const pool = new EnclavePool([a.link, b.link]);
    pool.start();
    try {
      await until(() => a.link.status().ready && b.link.status().ready, 'both ready');
      const first = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.call('work', i)));
      expect(new Set(first.map((r) => (r as { by: string }).by))).toEqual(new Set(['a', 'b']));

      // Replace enclave a while a steady stream of calls runs: none of them fails.
      const results: unknown[] = [];
      const stream = (async () => {
        for (let i = 0; i < 100; i++) results.push(await pool.call('work', i));
      })();
      const burst = Promise.all(Array.from({ length: 50 }, (_, i) => pool.call('work', i)));
      await new Promise((r) => setTimeout(r, 10));
      a.down();
      await Promise.all([stream, burst]);
      expect(results).toHaveLength(100);
      a.up();
      await until(() => a.link.status().ready, 'a back');
      expect(pool.status().ready).toBe(true);
    } finally {
      pool.stop();
    }
  });

  it('answers 503 when no enclave is ready', async () => {
    const a = enclave('a');
    a.down();
    const pool = new EnclavePool([a.link]);
    pool.start();
    try {
      await expect(pool.call('work', 1)).rejects.toMatchObject({ code: 'ERR_ENCLAVE_UNAVAILABLE', status: 503 });
    } finally {
      pool.stop();
    }
  });
});
