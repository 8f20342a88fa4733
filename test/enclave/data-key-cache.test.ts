import { describe, expect, it } from 'vitest';
import { DataKeyCache } from '../../enclave/kms/data-key-cache.js';

function keyLoader(byte: number) {
  let calls = 0;
  const load = async (): Promise<Uint8Array> => {
    calls += 1;
    await new Promise((r) => setImmediate(r));
    return new Uint8Array(32).fill(byte);
  };
  return { load, calls: () => calls };
}

describe('DataKeyCache', () => {
  it('serves 10,000 records sharing one data key with one load', async () => {
    const cache = new DataKeyCache();
    const { load, calls } = keyLoader(7);
    for (let i = 0; i < 10_000; i++) {
      const first = await cache.use('k', load, 100, (key) => key[0]);
      expect(first).toBe(7);
    }
    expect(calls()).toBe(1);
    expect(cache.stats()).toMatchObject({ loads: 1, misses: 1, hits: 9_999 });
  });

  it('single-flight: 100 concurrent first requests make one load', async () => {
    const cache = new DataKeyCache();
    const { load, calls } = keyLoader(9);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => cache.use('k', load, 1, (key) => key[31])),
    );
    expect(results.every((b) => b === 9)).toBe(true);
    expect(calls()).toBe(1);
  });

  it('a failed shared load is retried by the next caller, not cached', async () => {
    const cache = new DataKeyCache();
    let attempt = 0;
    const load = async () => {
      attempt += 1;
      if (attempt === 1) throw new Error('KMS down');
      return new Uint8Array(32).fill(1);
    };
    await expect(cache.use('k', load, 1, (k) => k[0])).rejects.toThrow('KMS down');
    await expect(cache.use('k', load, 1, (k) => k[0])).resolves.toBe(1);
    expect(attempt).toBe(2);
  });

  it('expires entries by age and zeroes the dropped key', async () => {
    let now = 1_000;
    const cache = new DataKeyCache({ maxAgeMs: 500 }, () => now);
    const { load, calls } = keyLoader(5);
    let seen: Uint8Array | undefined;
    await cache.use('k', load, 1, (key) => {
      seen = key;
    });
    now += 499;
    await cache.use('k', load, 1, () => undefined);
    expect(calls()).toBe(1);
    now += 1;
    await cache.use('k', load, 1, () => undefined);
    expect(calls()).toBe(2);
    expect(seen!.every((b) => b === 0)).toBe(true);
  });

  it('limits messages and bytes per entry', async () => {
    const byMessages = new DataKeyCache({ maxMessages: 3 });
    const m = keyLoader(1);
    for (let i = 0; i < 7; i++) await byMessages.use('k', m.load, 1, () => undefined);
    expect(m.calls()).toBe(3); // 3 + 3 + 1

    const byBytes = new DataKeyCache({ maxBytes: 1000 });
    const b = keyLoader(1);
    for (let i = 0; i < 4; i++) await byBytes.use('k', b.load, 400, () => undefined);
    expect(b.calls()).toBe(2); // 400+400 fit, the third would exceed 1000
  });

  it('evicts the least recently used entry beyond capacity, zeroing it', async () => {
    const cache = new DataKeyCache({ capacity: 2 });
    const keys: Uint8Array[] = [];
    const load = (byte: number) => async () => {
      const k = new Uint8Array(32).fill(byte);
      keys.push(k);
      return k;
    };
    await cache.use('a', load(1), 1, () => undefined);
    await cache.use('b', load(2), 1, () => undefined);
    await cache.use('a', load(1), 1, () => undefined); // a is now most recent
    await cache.use('c', load(3), 1, () => undefined); // evicts b
    expect(keys[1]!.every((x) => x === 0)).toBe(true);
    expect(keys[0]![0]).toBe(1);
    expect(cache.stats().entries).toBe(2);
  });

  it('never zeroes a key while a lease still uses it', async () => {
    const cache = new DataKeyCache({ maxMessages: 1 });
    const { load } = keyLoader(4);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let observed = -1;
    const leased = cache.use('k', load, 1, async (key) => {
      await held;
      observed = key[0]!;
      return key;
    });
    await new Promise((r) => setTimeout(r, 5));
    cache.clear();
    release();
    const key = await leased;
    expect(observed).toBe(4);
    expect(key.every((b) => b === 0)).toBe(true);
  });
});
