import { afterEach, describe, expect, it, vi } from 'vitest';
import { EnclaveKitError, InputError, ProtocolError } from '../../shared/errors.js';
import { createMemoryChannelPair, type MemoryFrameChannel } from '../../shared/protocol/memory-channel.js';
import { decodeMessage, encodeReplyOk, encodeRequest, type Message } from '../../shared/protocol/messages.js';
import { RpcPeer, type RpcContext, type RpcPeerOptions } from '../../shared/protocol/rpc.js';
import { packPlain } from '../../shared/protocol/msgpack.js';

const peers: RpcPeer[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const p of peers.splice(0)) p.close();
});

function pair(a: RpcPeerOptions = {}, b: RpcPeerOptions = {}): { a: RpcPeer; b: RpcPeer; ca: MemoryFrameChannel; cb: MemoryFrameChannel } {
  const [ca, cb] = createMemoryChannelPair();
  const pa = new RpcPeer(ca, a);
  const pb = new RpcPeer(cb, b);
  peers.push(pa, pb);
  return { a: pa, b: pb, ca, cb };
}

/** An RpcPeer facing a test-driven raw channel that records what the peer sends. */
function rawPeer(options: RpcPeerOptions = {}): { peer: RpcPeer; raw: MemoryFrameChannel; received: Message[]; next: () => Promise<Message> } {
  const [ca, raw] = createMemoryChannelPair();
  const peer = new RpcPeer(ca, options);
  peers.push(peer);
  const received: Message[] = [];
  const waiters: ((m: Message) => void)[] = [];
  raw.onFrame((payload) => {
    const m = decodeMessage(payload);
    if (m.kind === 'invalid') throw new Error('peer sent an invalid frame');
    const w = waiters.shift();
    if (w) w(m);
    else received.push(m);
  });
  const next = (): Promise<Message> => {
    const m = received.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push(resolve));
  };
  return { peer, raw, received, next };
}

const deferred = <T = unknown>(): { promise: Promise<T>; resolve: (v: T) => void } => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('RpcPeer', () => {
  it('serves requests in both directions at once', async () => {
    const { a, b } = pair(
      { handlers: { whoami: () => 'a', add: (body) => (body as number[]).reduce((x, y) => x + y, 0) } },
      { handlers: { whoami: async () => 'b', echo: async (body) => body } },
    );
    const [fromB, fromA, sum, echo] = await Promise.all([
      a.request('whoami', null),
      b.request('whoami', null),
      b.request('add', [1, 2, 3]),
      a.request('echo', { bytes: new Uint8Array([9, 8]) }),
    ]);
    expect(fromB).toBe('b');
    expect(fromA).toBe('a');
    expect(sum).toBe(6);
    expect([...(echo as { bytes: Buffer }).bytes]).toEqual([9, 8]);
  });

  it('matches 1000 concurrent requests to their replies', async () => {
    const { a } = pair({}, {
      handlers: {
        square: async (body, ctx) => {
          // Finish out of order: later ids first, on different turns.
          await new Promise((r) => setTimeout(r, (1000 - ctx.id) % 7));
          return { n: body, sq: (body as number) ** 2 };
        },
      },
    });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => a.request('square', i)));
    results.forEach((r, i) => expect(r).toEqual({ n: i, sq: i * i }));
    expect(a.stats.pending).toBe(0);
  });

  it('answers an unknown op with ERR_UNKNOWN_OPERATION, also for names found on Object.prototype', async () => {
    const { a } = pair({}, { handlers: { known: () => 1 } });
    for (const op of ['nope', 'constructor', 'toString', 'hasOwnProperty']) {
      await expect(a.request(op, null)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_OPERATION' });
    }
  });

  it('returns typed handler errors as they are and hides everything else behind ERR_INTERNAL', async () => {
    const logged: unknown[] = [];
    const { a } = pair({}, {
      handlers: {
        typed: () => {
          throw new InputError('ERR_INVALID_CARD', 'card number fails the Luhn check');
        },
        leaky: async () => {
          throw new Error('could not parse 4111111111111111');
        },
        syncLeaky: () => {
          throw new Error('secret key abc');
        },
        badResult: () => new Date(0),
      },
      onHandlerError: (error, info) => logged.push({ error, ...info }),
    });
    await expect(a.request('typed', null)).rejects.toMatchObject({ code: 'ERR_INVALID_CARD', message: 'card number fails the Luhn check', status: 422 });
    for (const op of ['leaky', 'syncLeaky', 'badResult']) {
      const error = await a.request(op, null).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EnclaveKitError);
      expect(error).toMatchObject({ code: 'ERR_INTERNAL', message: 'internal error' });
      expect(String((error as Error).message)).not.toMatch(/4111|secret/);
    }
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ op: 'leaky', error: expect.objectContaining({ message: 'could not parse 4111111111111111' }) });
    expect(logged[2]).toMatchObject({ op: 'badResult', error: expect.any(TypeError) });
  });

  it('refuses bad arguments from our own code as TypeError/RangeError', async () => {
    const { a } = pair();
    await expect(a.request('bad op', null)).rejects.toBeInstanceOf(TypeError);
    await expect(a.request('x', null, { deadlineMs: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(a.request('x', null, { deadlineMs: 2 ** 31 })).rejects.toBeInstanceOf(RangeError);
    await expect(a.request('x', new Date(0))).rejects.toBeInstanceOf(TypeError);
    expect(() => a.setHandler('no spaces please', () => 1)).toThrow(TypeError);
    expect(a.stats.pending).toBe(0);
  });

  describe('deadlines', () => {
    it('fails a request at its deadline, sends the deadline in the frame and cancels the work at the peer', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const started = deferred<RpcContext>();
      const aborted = deferred<unknown>();
      const { a, b } = pair({ now: Date.now }, {
        now: Date.now,
        handlers: {
          slow: (_body, ctx) => {
            ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
            started.resolve(ctx);
            return new Promise(() => {});
          },
        },
      });
      const outcome = a.request('slow', null, { deadlineMs: 250 }).catch((e: unknown) => e);
      const ctx = await started.promise;
      expect(ctx.deadlineMs).toBe(250);
      vi.advanceTimersByTime(249);
      expect(a.stats.pending).toBe(1);
      vi.advanceTimersByTime(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error).toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' });
      // The cancel frame reaches the handler (it may also hit its own deadline timer first).
      vi.advanceTimersByTime(1);
      const reason = await aborted.promise;
      expect(['ERR_CANCELLED', 'ERR_DEADLINE_EXCEEDED']).toContain((reason as ProtocolError).code);
      expect(b.stats.serving).toBe(1); // the handler never settles; its slot stays taken
    });

    it('the serving side aborts the handler at the deadline from the frame and does not send a late reply', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const finish = deferred<string>();
      const aborted = deferred<unknown>();
      const { peer, raw, received } = rawPeer({
        now: Date.now,
        handlers: {
          work: async (_body, ctx) => {
            ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
            return finish.promise;
          },
        },
      });
      raw.send(encodeRequest(1, 'work', 100, null)); // a caller with no timer of its own
      await vi.waitFor(() => expect(peer.stats.serving).toBe(1));
      vi.advanceTimersByTime(100);
      expect(await aborted.promise).toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' });
      finish.resolve('too late');
      await vi.waitFor(() => expect(peer.stats.abandonedReplies).toBe(1));
      await new Promise((r) => setImmediate(r));
      expect(received).toEqual([]);
    });

    it('arms a serving-side timer only for handlers that read their signal, and clears it when they finish', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      let sawSignal: AbortSignal | undefined;
      const { peer, raw, next } = rawPeer({
        now: Date.now,
        handlers: {
          plain: () => vi.getTimerCount(),
          watchful: (_body, ctx) => {
            sawSignal = ctx.signal;
            return vi.getTimerCount();
          },
        },
      });
      raw.send(encodeRequest(1, 'plain', 60_000, null));
      expect(await next()).toMatchObject({ id: 1, ok: true, body: 0 });
      raw.send(encodeRequest(2, 'watchful', 60_000, null));
      expect(await next()).toMatchObject({ id: 2, ok: true, body: 1 });
      expect(vi.getTimerCount()).toBe(0);
      expect(sawSignal?.aborted).toBe(false);
      expect(peer.stats.serving).toBe(0);
    });

    it('uses the default deadline when none is given', async () => {
      const { peer, next } = rawPeer({ defaultDeadlineMs: 1234 });
      void peer.request('x', 1).catch(() => {});
      expect(await next()).toMatchObject({ kind: 'request', op: 'x', deadlineMs: 1234, body: 1 });
    });
  });

  describe('cancellation', () => {
    it('rejects with ERR_CANCELLED at once, tells the peer, and the peer aborts the handler', async () => {
      const aborted = deferred<unknown>();
      const started = deferred<void>();
      const { a, b } = pair({}, {
        handlers: {
          slow: (_body, ctx) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted.resolve(ctx.signal.reason);
                resolve('finished anyway');
              });
              started.resolve();
            }),
        },
      });
      const controller = new AbortController();
      const outcome = a.request('slow', null, { signal: controller.signal }).catch((e: unknown) => e);
      await started.promise;
      controller.abort(new Error('user went away'));
      expect(await outcome).toMatchObject({ code: 'ERR_CANCELLED' });
      expect(await aborted.promise).toMatchObject({ code: 'ERR_CANCELLED' });
      await vi.waitFor(() => expect(b.stats.abandonedReplies).toBe(1));
      expect(a.stats.lateReplies).toBe(0); // the reply was never sent
    });

    it('does not send a request whose signal is already aborted', async () => {
      const { peer, raw } = rawPeer();
      const controller = new AbortController();
      controller.abort();
      await expect(peer.request('x', null, { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
      expect(peer.channel.stats.framesOut).toBe(0);
      expect(raw.stats.framesIn).toBe(0);
    });
  });

  describe('caps on requests in flight', () => {
    it('refuses a request beyond the calling cap before sending it', async () => {
      const { peer } = rawPeer({ maxInFlight: 4 });
      const pending = Array.from({ length: 4 }, () => peer.request('x', null).catch(() => {}));
      await expect(peer.request('x', null)).rejects.toMatchObject({ code: 'ERR_TOO_MANY_IN_FLIGHT' });
      expect(peer.stats.pending).toBe(4);
      void pending;
    });

    it('refuses peer requests beyond the serving cap and accepts again once handlers finish', async () => {
      const gate = deferred<void>();
      const { a, b } = pair({}, { maxServing: 2, handlers: { wait: async () => gate.promise.then(() => 'done') } });
      const first = [a.request('wait', null), a.request('wait', null)];
      await vi.waitFor(() => expect(b.stats.serving).toBe(2));
      await expect(a.request('wait', null)).rejects.toMatchObject({ code: 'ERR_TOO_MANY_IN_FLIGHT' });
      expect(b.stats.refusedRequests).toBe(1);
      gate.resolve();
      expect(await Promise.all(first)).toEqual(['done', 'done']);
      expect(await a.request('wait', null)).toBe('done');
    });
  });

  describe('backpressure', () => {
    it('queues requests while the channel is over its high-water mark and sends them on drain', async () => {
      const [ca, cb] = createMemoryChannelPair({ highWaterMarkBytes: 1024 });
      const a = new RpcPeer(ca);
      const b = new RpcPeer(cb, { handlers: { echo: (body) => body } });
      peers.push(a, b);
      cb.pauseReading();
      const body = 'x'.repeat(300);
      const all = Array.from({ length: 50 }, () => a.request('echo', body));
      expect(ca.writable).toBe(false);
      expect(a.stats.queued).toBeGreaterThan(40);
      // Only what fits under the mark (plus the frame that crossed it) was handed to the channel.
      expect(ca.bufferedAmount).toBeLessThan(1024 + 400);
      cb.resumeReading();
      expect(await Promise.all(all)).toEqual(Array(50).fill(body));
      expect(a.stats.queued).toBe(0);
    });

    it('drops a queued request that times out without ever sending it', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const [ca, cb] = createMemoryChannelPair({ highWaterMarkBytes: 64 });
      const a = new RpcPeer(ca, { now: Date.now });
      const b = new RpcPeer(cb, { handlers: { echo: (body) => body } });
      peers.push(a, b);
      cb.pauseReading();
      const first = a.request('echo', 'y'.repeat(100), { deadlineMs: 1000 }).catch((e: unknown) => e);
      const queued = a.request('echo', 'queued', { deadlineMs: 10 }).catch((e: unknown) => e);
      expect(a.stats.queued).toBe(1);
      vi.advanceTimersByTime(10);
      expect(await queued).toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' });
      cb.resumeReading();
      expect(await first).toBe('y'.repeat(100));
      expect(cb.stats.framesIn).toBe(1); // the timed-out request never went out (and needed no cancel)
    });
  });

  describe('connection loss', () => {
    it('fails every pending request at once with ERR_CONNECTION_LOST and aborts running handlers', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const handlerReasons: unknown[] = [];
      let started = 0;
      const { a, ca } = pair({ now: Date.now }, {
        now: Date.now,
        handlers: {
          hang: (_b, ctx) => {
            started++;
            ctx.signal.addEventListener('abort', () => handlerReasons.push(ctx.signal.reason));
            return new Promise(() => {});
          },
        },
      });
      const all = Array.from({ length: 200 }, () => a.request('hang', null, { deadlineMs: 60_000 }));
      await vi.waitFor(() => expect(started).toBe(200));
      ca.sever(new Error('ECONNRESET'));
      // No timer advanced: the failures come from the close itself, not from the deadlines.
      const settled = await Promise.allSettled(all);
      for (const s of settled) {
        expect(s.status).toBe('rejected');
        const reason = (s as PromiseRejectedResult).reason as ProtocolError;
        expect(reason).toBeInstanceOf(ProtocolError);
        expect(reason.code).toBe('ERR_CONNECTION_LOST');
      }
      expect(handlerReasons).toHaveLength(200);
      expect(handlerReasons.every((r) => (r as ProtocolError).code === 'ERR_CONNECTION_LOST')).toBe(true);
      expect(vi.getTimerCount()).toBe(0); // every deadline timer was cleared
      await expect(a.request('hang', null)).rejects.toMatchObject({ code: 'ERR_CONNECTION_LOST' });
      expect(a.closed).toBe(true);
    });

    it('reports the close to onClose listeners once, also when the peer closes', async () => {
      const { a, b } = pair();
      const reasons: ProtocolError[] = [];
      a.onClose((r) => reasons.push(r));
      b.close();
      await vi.waitFor(() => expect(reasons).toHaveLength(1));
      expect(reasons[0]!.code).toBe('ERR_CONNECTION_LOST');
      a.close();
      expect(reasons).toHaveLength(1);
      const late: ProtocolError[] = [];
      a.onClose((r) => late.push(r));
      expect(late).toHaveLength(1);
    });
  });

  describe('bad frames', () => {
    it('answers a malformed request whose id is recoverable, and a wrong version with ERR_PROTOCOL_VERSION', async () => {
      const { peer, raw, next } = rawPeer({ handlers: { x: () => 1 } });
      raw.send(packPlain({ v: 1, id: 10, op: 'x', deadlineMs: 'soon', body: null }));
      raw.send(packPlain({ v: 2, id: 11, op: 'x', deadlineMs: 100, body: null }));
      raw.send(Buffer.from([0x93, 0x01])); // undecodable: dropped
      raw.send(encodeRequest(12, 'x', 100, null));
      expect(await next()).toMatchObject({ kind: 'reply', id: 10, ok: false, error: { code: 'ERR_FRAME_MALFORMED' } });
      expect(await next()).toMatchObject({ kind: 'reply', id: 11, ok: false, error: { code: 'ERR_PROTOCOL_VERSION' } });
      expect(await next()).toEqual({ kind: 'reply', id: 12, ok: true, body: 1 });
      expect(peer.stats.malformedFrames).toBe(3);
    });

    it('fails only the request whose reply is malformed', async () => {
      const { peer, raw, next } = rawPeer();
      const one = peer.request('one', null).catch((e: unknown) => e);
      const two = peer.request('two', null);
      const r1 = await next();
      const r2 = await next();
      raw.send(packPlain({ v: 1, id: r1.id, ok: 'maybe', body: null }));
      raw.send(encodeReplyOk(r2.id, 'fine'));
      expect(await one).toMatchObject({ code: 'ERR_FRAME_MALFORMED' });
      expect(await two).toBe('fine');
      expect(peer.closed).toBe(false);
    });

    it('keeps serving through a flood of malformed frames', async () => {
      const { a, b, ca } = pair({}, { handlers: { echo: (body) => body } });
      const garbage: Buffer[] = [
        Buffer.from([0xc1]),
        Buffer.from([0xd4, 0x72, 0x40]),
        Buffer.from([0xd6, 0xff, 0, 0, 0, 0]),
        packPlain({ v: 1, id: 1_000_000_001, op: 'echo', deadlineMs: -1, body: null }),
        packPlain({ v: 9, id: 1_000_000_002, op: 'echo', deadlineMs: 1, body: null }),
        packPlain({ v: 1, id: 1_000_000_003, ok: true, body: 1 }), // a reply nobody waits for
        packPlain({ v: 1, id: 1_000_000_004, cancel: true }), // a cancel for nothing
        packPlain([1, 2, 3]),
      ];
      const results: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        for (const g of garbage) ca.send(g);
        results.push(a.request('echo', i));
      }
      expect(await Promise.all(results)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      await vi.waitFor(() => expect(a.stats.lateReplies).toBe(400)); // error replies to the two bad requests with ids
      expect(b.stats.malformedFrames).toBe(200 * 6);
      expect(b.stats.lateReplies).toBe(200);
      expect(a.closed || b.closed).toBe(false);
    });

    it('answers a second request with an id still being served as malformed, without disturbing the first', async () => {
      const gate = deferred<string>();
      const { peer, raw, next } = rawPeer({ handlers: { wait: () => gate.promise } });
      raw.send(encodeRequest(5, 'wait', 1000, null));
      await vi.waitFor(() => expect(peer.stats.serving).toBe(1));
      raw.send(encodeRequest(5, 'wait', 1000, null));
      expect(await next()).toMatchObject({ id: 5, ok: false, error: { code: 'ERR_FRAME_MALFORMED', message: 'request id already in use' } });
      gate.resolve('first');
      expect(await next()).toEqual({ kind: 'reply', id: 5, ok: true, body: 'first' });
    });
  });

  describe('frame size', () => {
    it('fails an oversized request locally and answers an oversized reply with ERR_FRAME_TOO_LARGE', async () => {
      const [ca, cb] = createMemoryChannelPair({ maxFrameBytes: 1000 });
      const a = new RpcPeer(ca);
      const b = new RpcPeer(cb, { handlers: { big: () => 'z'.repeat(2000) } });
      peers.push(a, b);
      await expect(a.request('big', 'q'.repeat(2000))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
      expect(ca.stats.framesOut).toBe(0);
      await expect(a.request('big', null)).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
      expect(a.closed).toBe(false);
    });
  });
});
