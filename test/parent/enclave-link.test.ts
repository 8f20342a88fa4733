import { describe, expect, it } from 'vitest';
import { EnclaveLink } from '../../parent/enclave-link.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import type { FrameChannel } from '../../shared/protocol/channel.js';

/** A fake enclave on the far side of memory channels; each connect makes a fresh pair. */
let clockSkewMs = 0;

function fakeEnclave() {
  const enclaves: RpcPeer[] = [];
  let available = true;
  let connects = 0;
  let hang: (() => void) | undefined;
  const connect = async (): Promise<FrameChannel> => {
    connects += 1;
    if (!available) throw new Error('ECONNREFUSED');
    const [parentSide, enclaveSide] = createMemoryChannelPair();
    const enclave = new RpcPeer(enclaveSide, {
      handlers: {
        status: async () => ({ ready: true, now: Date.now() + clockSkewMs }),
        echo: async (body) => body,
        hang: () => new Promise((resolve) => (hang = () => resolve('late'))),
        whoami: async (_b, ctx) => ctx.peer.request('credentials', {}),
      },
    });
    enclaves.push(enclave);
    return parentSide;
  };
  return {
    connect,
    enclaves,
    connects: () => connects,
    setAvailable: (v: boolean) => (available = v),
    release: () => hang?.(),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('EnclaveLink', () => {
  it('connects, hands over setup, becomes ready, and serves both directions', async () => {
    const fake = fakeEnclave();
    const setups: number[] = [];
    const link = new EnclaveLink({
      connect: fake.connect,
      handlers: { credentials: async () => ({ accessKeyId: 'AKIA-TEST' }) },
      onConnected: async () => {
        setups.push(fake.connects());
      },
    });
    link.start();
    await until(() => link.status().ready, 'ready');
    expect(setups).toEqual([1]);
    await expect(link.call('echo', { n: 1 })).resolves.toEqual({ n: 1 });
    await expect(link.call('whoami', {})).resolves.toEqual({ accessKeyId: 'AKIA-TEST' });
    link.stop();
  });

  it('fails pending calls at once when the enclave goes away, then reconnects', async () => {
    const fake = fakeEnclave();
    const events: string[] = [];
    const link = new EnclaveLink({
      connect: fake.connect,
      handlers: {},
      backoff: { initialMs: 5, maxMs: 20 },
      onEvent: (e) => events.push(e.type),
    });
    link.start();
    await until(() => link.status().ready, 'ready');
    const pending = link.call('hang', {}, { deadlineMs: 60_000 });
    fake.setAvailable(false);
    fake.enclaves[0]!.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CONNECTION_LOST', status: 503 });
    expect(link.status()).toMatchObject({ connected: false, ready: false });
    await expect(link.call('echo', {})).rejects.toMatchObject({ code: 'ERR_ENCLAVE_UNAVAILABLE', status: 503 });
    await until(() => fake.connects() >= 3, 'retries while down');
    fake.setAvailable(true);
    await until(() => link.status().ready, 'ready again');
    await expect(link.call('echo', 'back')).resolves.toBe('back');
    expect(events).toEqual(expect.arrayContaining(['connected', 'ready', 'disconnected']));
    link.stop();
  });
});

describe('EnclaveLink clock check', () => {
  it('is not ready while the enclave clock is off by more than the limit, and reports offsets', async () => {
    clockSkewMs = 120_000;
    const fake = fakeEnclave();
    const offsets: number[] = [];
    const link = new EnclaveLink({
      connect: fake.connect,
      handlers: {},
      maxClockOffsetMs: 60_000,
      statusIntervalMs: 20,
      onStatus: (reply, sent, received) => offsets.push((reply.now as number) - (sent + received) / 2),
    });
    try {
      link.start();
      await until(() => offsets.length >= 2, 'status replies');
      expect(link.status()).toMatchObject({ connected: true, ready: false, reason: expect.stringMatching(/clock is 1\d{5} ms off/) });
      expect(offsets[0]).toBeGreaterThan(110_000);
      clockSkewMs = 0;
      await until(() => link.status().ready, 'ready once the clock is right');
    } finally {
      clockSkewMs = 0;
      link.stop();
    }
  });
});
