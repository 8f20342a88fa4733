import { describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../shared/errors.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FrameChannel behaviour (memory pair, shared base class)', () => {
  it('holds frames until the first onFrame subscriber, then delivers them in order', async () => {
    const [a, b] = createMemoryChannelPair();
    a.send(Buffer.from([1]));
    a.send(Buffer.from([2]));
    await tick();
    expect(a.bufferedAmount).toBe(2);
    const got: number[] = [];
    b.onFrame((f) => got.push(f[0]!));
    await tick();
    expect(got).toEqual([1, 2]);
    expect(a.bufferedAmount).toBe(0);
    expect(b.stats).toMatchObject({ framesIn: 2, bytesIn: 2 });
    expect(a.stats).toMatchObject({ framesOut: 2, bytesOut: 2 });
  });

  it('turns unwritable at the high-water mark and fires onDrain once the peer reads', async () => {
    const [a, b] = createMemoryChannelPair({ highWaterMarkBytes: 100 });
    b.onFrame(() => {});
    b.pauseReading();
    expect(a.send(Buffer.alloc(60))).toBe(true);
    expect(a.send(Buffer.alloc(60))).toBe(false);
    expect(a.writable).toBe(false);
    const drained = vi.fn();
    a.onDrain(drained);
    b.resumeReading();
    await vi.waitFor(() => expect(drained).toHaveBeenCalledTimes(1));
    expect(a.writable).toBe(true);
  });

  it('closes itself when a peer that stopped reading lets the buffer pass its hard limit', () => {
    const [a, b] = createMemoryChannelPair({ highWaterMarkBytes: 100, maxBufferedBytes: 250 });
    b.onFrame(() => {});
    b.pauseReading();
    const reasons: ProtocolError[] = [];
    a.onClose((r) => reasons.push(r));
    a.send(Buffer.alloc(100));
    a.send(Buffer.alloc(100));
    expect(a.closed).toBe(false);
    expect(a.send(Buffer.alloc(100))).toBe(false);
    expect(a.closed).toBe(true);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ code: 'ERR_CONNECTION_LOST' });
    expect(reasons[0]!.message).toMatch(/not reading/);
    expect(() => a.send(Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_LOST' }));
  });

  it('refuses oversized and empty frames locally, leaving the channel open', () => {
    const [a] = createMemoryChannelPair({ maxFrameBytes: 10 });
    expect(() => a.send(Buffer.alloc(11))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
    expect(() => a.send(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_MALFORMED' }));
    expect(a.closed).toBe(false);
    expect(a.stats.framesOut).toBe(0);
  });

  it('flushes queued frames before the peer sees a graceful close', async () => {
    const [a, b] = createMemoryChannelPair();
    const got: number[] = [];
    b.onFrame((f) => got.push(f[0]!));
    const closed = new Promise<ProtocolError>((resolve) => b.onClose(resolve));
    a.send(Buffer.from([7]));
    a.close();
    const reason = await closed;
    expect(got).toEqual([7]);
    expect(reason.code).toBe('ERR_CONNECTION_LOST');
    expect(reason.message).toBe('connection closed by peer');
  });

  it('runs every close listener even if one throws, then rethrows', () => {
    const [a] = createMemoryChannelPair();
    const second = vi.fn();
    a.onClose(() => {
      throw new Error('listener bug');
    });
    a.onClose(second);
    expect(() => a.close()).toThrow('listener bug');
    expect(second).toHaveBeenCalledTimes(1);
  });
});
