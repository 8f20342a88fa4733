/**
 * Multiplexed request/response over one FrameChannel, started from either side (docs/architecture.md
 * "Wire protocol": the parent asks the enclave to work, the enclave asks the parent for
 * credentials and sends logs and metrics). Messages: messages.ts.
 *
 * Calling side: ids, a deadline per request (it travels in the frame; a timed-out request is
 * also cancelled at the peer), cancellation through an AbortSignal (ERR_CANCELLED, and a cancel
 * frame tells the peer), a cap on requests in flight (ERR_TOO_MANY_IN_FLIGHT, checked before
 * anything is sent), and backpressure: while the channel is over its high-water mark new
 * requests wait in a queue that the cap bounds, and leave it on drain.
 *
 * Serving side: handlers by op (ERR_UNKNOWN_OPERATION otherwise), the same kind of cap, an
 * AbortSignal per request that fires on the deadline, a cancel frame or a lost connection (made
 * only if the handler reads it: most handlers finish quickly and never pay for a timer). Replies
 * for requests the caller has given up on are not sent. Handler failures: an EnclaveKitError
 * goes back with its code and message; anything else becomes ERR_INTERNAL with a fixed message
 * (exception texts can hold secrets or input) and is passed to `onHandlerError` for local logs.
 *
 * Bad frames (decided here, per docs/architecture.md "a malformed frame closes at most that request"):
 * - refused by the framing layer (oversized, empty): nothing is recoverable; counted, dropped;
 * - undecodable payload: counted, dropped;
 * - decodable but invalid, with a valid id: as a request, it is answered with the error
 *   (ERR_FRAME_MALFORMED or ERR_PROTOCOL_VERSION); as a reply to one of our requests, that
 *   request fails with the error; anything else is counted and dropped.
 * The connection and every other request carry on. A lost connection fails every pending request
 * at once with ERR_CONNECTION_LOST and aborts every running handler.
 */
import { EnclaveKitError, ProtocolError, errorFromWire, toEnclaveKitError } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { FrameChannel } from './channel.js';
import {
  DEADLINE_MAX_MS,
  decodeMessage,
  encodeCancel,
  encodeReplyError,
  encodeReplyOk,
  encodeRequest,
  isValidOp,
  type InvalidMessage,
  type ReplyErrorMessage,
  type ReplyOkMessage,
  type RequestMessage,
} from './messages.js';

export interface RpcContext {
  readonly id: number;
  readonly op: string;
  /** The time the caller allowed, ms, as it was when the request was sent. */
  readonly deadlineMs: number;
  /** The deadline on this side's clock (`now()` of the peer's options). */
  readonly deadlineAt: number;
  /**
   * Aborts on the deadline (reason ERR_DEADLINE_EXCEEDED), a cancel from the caller
   * (ERR_CANCELLED) or a lost connection (ERR_CONNECTION_LOST). Created on first access.
   */
  readonly signal: AbortSignal;
  /** The peer that received the request (to call back the other side). */
  readonly peer: RpcPeer;
}

export type RpcHandler = (body: unknown, ctx: RpcContext) => unknown;

export interface RpcPeerOptions {
  /** Operations this side serves. An op missing here is answered with ERR_UNKNOWN_OPERATION. */
  handlers?: Readonly<Record<string, RpcHandler>>;
  /** Our requests in flight (queued or sent, not settled); default LIMITS.rpcMaxInFlight. */
  maxInFlight?: number;
  /** The peer's requests being handled at once; default `maxInFlight`. */
  maxServing?: number;
  /** Deadline of a request that names none, ms; default LIMITS.rpcDefaultDeadlineMs. */
  defaultDeadlineMs?: number;
  /** Non-EnclaveKitError failures of handlers (and unencodable results), for local logs only. */
  onHandlerError?: (error: unknown, info: { id: number; op: string }) => void;
  /** Monotonic clock, ms; default `performance.now`. Injected by tests with fake timers. */
  now?: () => number;
}

export interface RequestOptions {
  /** ms from now; default the peer's `defaultDeadlineMs`. An integer in [1, 2^31 - 1]. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface RpcStats {
  /** Our requests not settled yet (including `queued`). */
  pending: number;
  /** Our requests waiting for the channel to drain. */
  queued: number;
  /** Peer requests whose handler has not finished. */
  serving: number;
  /** Frames that decoded to an invalid message. */
  malformedFrames: number;
  /** Frames refused by the framing layer (oversized, empty). */
  frameErrors: number;
  /** Replies whose id matched no pending request (normal after a local timeout or cancel). */
  lateReplies: number;
  /** Replies not sent because the caller had given up (deadline, cancel) or the link closed. */
  abandonedReplies: number;
  /** Peer requests refused by the serving cap. */
  refusedRequests: number;
}

interface PendingRequest {
  readonly id: number;
  readonly op: string;
  readonly deadlineMs: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | null;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
  /** The encoded request while it waits in the queue. */
  frame: Uint8Array | null;
  sent: boolean;
  done: boolean;
}

const defaultNow = (): number => performance.now();

class ServingRequest implements RpcContext {
  abandoned: ProtocolError | null = null;
  #controller: AbortController | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #finished = false;

  constructor(
    readonly peer: RpcPeer,
    readonly id: number,
    readonly op: string,
    readonly deadlineMs: number,
    readonly deadlineAt: number,
    private readonly now: () => number,
  ) {}

  get signal(): AbortSignal {
    if (this.#controller === null) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.abandoned !== null) {
        controller.abort(this.abandoned);
      } else if (!this.#finished) {
        const left = this.deadlineAt - this.now();
        if (left <= 0) this.abandon(deadlineError(this.op, this.deadlineMs));
        else this.#timer = setTimeout(() => this.abandon(deadlineError(this.op, this.deadlineMs)), Math.ceil(left));
      }
    }
    return this.#controller.signal;
  }

  /** The result is no longer wanted: abort the signal, suppress the reply. */
  abandon(reason: ProtocolError): void {
    if (this.abandoned !== null) return;
    this.abandoned = reason;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#controller?.abort(reason);
  }

  /** The handler settled: no timer may outlive it. */
  dispose(): void {
    this.#finished = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function deadlineError(op: string, deadlineMs: number): ProtocolError {
  return new ProtocolError('ERR_DEADLINE_EXCEEDED', `${op}: deadline of ${deadlineMs} ms exceeded`);
}

function checkCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

function checkDeadline(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > DEADLINE_MAX_MS) {
    throw new RangeError(`${name} must be an integer in [1, ${DEADLINE_MAX_MS}] ms`);
  }
  return value;
}

export class RpcPeer {
  readonly channel: FrameChannel;
  readonly maxInFlight: number;
  readonly maxServing: number;
  readonly defaultDeadlineMs: number;

  readonly #handlers: Map<string, RpcHandler>;
  readonly #onHandlerError: RpcPeerOptions['onHandlerError'];
  readonly #now: () => number;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #serving = new Map<number, ServingRequest>();
  /** FIFO of requests waiting for drain; slots before #queueHead are spent. */
  #queue: (PendingRequest | undefined)[] = [];
  #queueHead = 0;
  #nextId = 1;
  #closeReason: ProtocolError | null = null;
  #closeListeners: ((reason: ProtocolError) => void)[] = [];
  readonly #counters = { malformedFrames: 0, frameErrors: 0, lateReplies: 0, abandonedReplies: 0, refusedRequests: 0 };

  constructor(channel: FrameChannel, options: RpcPeerOptions = {}) {
    this.channel = channel;
    this.maxInFlight = checkCount(options.maxInFlight ?? LIMITS.rpcMaxInFlight, 'maxInFlight');
    this.maxServing = checkCount(options.maxServing ?? this.maxInFlight, 'maxServing');
    this.defaultDeadlineMs = checkDeadline(options.defaultDeadlineMs ?? LIMITS.rpcDefaultDeadlineMs, 'defaultDeadlineMs');
    // A Map, not the record itself: an op named "constructor" or "__proto__" must not reach
    // Object.prototype.
    this.#handlers = new Map();
    for (const [op, handler] of Object.entries(options.handlers ?? {})) this.setHandler(op, handler);
    this.#onHandlerError = options.onHandlerError;
    this.#now = options.now ?? defaultNow;

    channel.onFrame((payload) => this.#onFrame(payload));
    channel.onFrameError(() => {
      this.#counters.frameErrors++;
    });
    channel.onDrain(() => this.#flushQueue());
    channel.onClose((reason) => this.#teardown(reason));
  }

  /** Adds, replaces or (with `undefined`) removes the handler of an op. */
  setHandler(op: string, handler: RpcHandler | undefined): void {
    if (!isValidOp(op)) throw new TypeError(`invalid operation name: ${JSON.stringify(op).slice(0, 80)}`);
    if (handler === undefined) this.#handlers.delete(op);
    else this.#handlers.set(op, handler);
  }

  get closed(): boolean {
    return this.#closeReason !== null;
  }

  get stats(): RpcStats {
    return {
      pending: this.#pending.size,
      queued: this.#queue.length - this.#queueHead,
      serving: this.#serving.size,
      ...this.#counters,
    };
  }

  /**
   * Sends a request and resolves with the peer's reply body. Rejects with the peer's error
   * (an EnclaveKitError with its code), or ProtocolError ERR_DEADLINE_EXCEEDED, ERR_CANCELLED,
   * ERR_TOO_MANY_IN_FLIGHT, ERR_FRAME_TOO_LARGE, ERR_CONNECTION_LOST; with TypeError/RangeError for
   * a bad op, deadline or a body outside the frame data model (msgpack.ts).
   */
  request(op: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (!isValidOp(op)) return Promise.reject(new TypeError('invalid operation name'));
    let deadlineMs: number;
    try {
      deadlineMs = checkDeadline(options.deadlineMs ?? this.defaultDeadlineMs, 'deadlineMs');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closeReason !== null) {
      return Promise.reject(new ProtocolError('ERR_CONNECTION_LOST', 'connection is closed', { cause: this.#closeReason }));
    }
    const signal = options.signal ?? null;
    if (signal?.aborted) {
      return Promise.reject(new ProtocolError('ERR_CANCELLED', `${op}: cancelled`, { cause: signal.reason }));
    }
    if (this.#pending.size >= this.maxInFlight) {
      return Promise.reject(
        new ProtocolError('ERR_TOO_MANY_IN_FLIGHT', `too many requests in flight (${this.maxInFlight})`),
      );
    }
    const id = this.#allocateId();
    let frame: Buffer;
    try {
      frame = encodeRequest(id, op, deadlineMs, body);
    } catch (error) {
      return Promise.reject(error);
    }
    if (frame.length > this.channel.maxFrameBytes) {
      return Promise.reject(
        new ProtocolError('ERR_FRAME_TOO_LARGE', `${op}: request of ${frame.length} bytes exceeds the frame limit of ${this.channel.maxFrameBytes} bytes`),
      );
    }

    return new Promise<unknown>((resolve, reject) => {
      const p: PendingRequest = {
        id, op, deadlineMs, resolve, reject, signal,
        timer: null, onAbort: null, frame: null, sent: false, done: false,
      };
      this.#pending.set(id, p);
      p.timer = setTimeout(() => this.#giveUp(p, deadlineError(op, deadlineMs)), deadlineMs);
      if (signal !== null) {
        p.onAbort = () => this.#giveUp(p, new ProtocolError('ERR_CANCELLED', `${op}: cancelled`, { cause: signal.reason }));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      if (this.#queueHead < this.#queue.length || !this.channel.writable) {
        p.frame = frame;
        this.#queue.push(p);
      } else {
        this.#transmit(p, frame);
      }
    });
  }

  /** Closes the channel; pending requests fail with ERR_CONNECTION_LOST, handlers are aborted. */
  close(): void {
    this.channel.close();
    this.#teardown(new ProtocolError('ERR_CONNECTION_LOST', 'channel closed locally'));
  }

  /** Called once, when the channel closes (at once if it already has). */
  onClose(listener: (reason: ProtocolError) => void): () => void {
    if (this.#closeReason !== null) {
      listener(this.#closeReason);
      return () => {};
    }
    this.#closeListeners.push(listener);
    return () => {
      this.#closeListeners = this.#closeListeners.filter((l) => l !== listener);
    };
  }

  // Calling side.

  #allocateId(): number {
    // Ids only need to be unique among our requests in flight; wrap long before precision ends.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #transmit(p: PendingRequest, frame: Uint8Array): void {
    try {
      this.channel.send(frame);
      p.sent = true;
    } catch (error) {
      this.#settle(p);
      p.reject(error);
    }
  }

  #flushQueue(): void {
    while (this.#queueHead < this.#queue.length && this.channel.writable) {
      const p = this.#queue[this.#queueHead];
      this.#queue[this.#queueHead++] = undefined; // release for GC
      if (p === undefined) continue;
      const frame = p.frame;
      p.frame = null;
      if (!p.done && frame !== null) this.#transmit(p, frame);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
  }

  /** Removes a pending request from every table; false if it was already settled. */
  #settle(p: PendingRequest): boolean {
    if (p.done) return false;
    p.done = true;
    p.frame = null;
    this.#pending.delete(p.id);
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    if (p.onAbort !== null) p.signal?.removeEventListener('abort', p.onAbort);
    p.onAbort = null;
    return true;
  }

  /** Deadline or cancellation: fail locally and tell the peer to stop, if it has the request. */
  #giveUp(p: PendingRequest, error: ProtocolError): void {
    if (!this.#settle(p)) return;
    if (p.sent && this.#closeReason === null) this.#sendQuietly(encodeCancel(p.id));
    p.reject(error);
  }

  #onReply(m: ReplyOkMessage | ReplyErrorMessage): void {
    const p = this.#pending.get(m.id);
    if (p === undefined || !this.#settle(p)) {
      this.#counters.lateReplies++;
      return;
    }
    if (m.ok) p.resolve(m.body);
    else p.reject(errorFromWire(m.error));
  }

  // Serving side.

  #onRequest(m: RequestMessage): void {
    if (this.#serving.has(m.id)) {
      this.#counters.malformedFrames++;
      this.#sendError(m.id, new ProtocolError('ERR_FRAME_MALFORMED', 'request id already in use'));
      return;
    }
    if (this.#serving.size >= this.maxServing) {
      this.#counters.refusedRequests++;
      this.#sendError(m.id, new ProtocolError('ERR_TOO_MANY_IN_FLIGHT', `too many requests in flight (${this.maxServing})`));
      return;
    }
    const handler = this.#handlers.get(m.op);
    if (handler === undefined) {
      this.#sendError(m.id, new ProtocolError('ERR_UNKNOWN_OPERATION', `unknown operation ${m.op}`));
      return;
    }
    const ctx = new ServingRequest(this, m.id, m.op, m.deadlineMs, this.#now() + m.deadlineMs, this.#now);
    this.#serving.set(m.id, ctx);
    let result: unknown;
    try {
      result = handler(m.body, ctx);
    } catch (error) {
      this.#finish(ctx, false, error);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.#finish(ctx, true, value),
        (error: unknown) => this.#finish(ctx, false, error),
      );
    } else {
      this.#finish(ctx, true, result);
    }
  }

  #finish(ctx: ServingRequest, ok: boolean, outcome: unknown): void {
    ctx.dispose();
    if (this.#serving.get(ctx.id) === ctx) this.#serving.delete(ctx.id);
    if (ctx.abandoned !== null || this.#closeReason !== null || this.#now() > ctx.deadlineAt) {
      this.#counters.abandonedReplies++;
      return;
    }
    if (!ok) {
      this.#sendError(ctx.id, this.#publicError(outcome, ctx));
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeReplyOk(ctx.id, outcome);
    } catch (error) {
      // The handler returned something outside the data model: our bug, reported locally.
      this.#sendError(ctx.id, this.#publicError(error, ctx));
      return;
    }
    if (frame.length > this.channel.maxFrameBytes) {
      this.#sendError(
        ctx.id,
        new ProtocolError('ERR_FRAME_TOO_LARGE', `${ctx.op}: reply of ${frame.length} bytes exceeds the frame limit of ${this.channel.maxFrameBytes} bytes`),
      );
      return;
    }
    this.#sendQuietly(frame);
  }

  /** What the caller may see of a failure: typed errors as they are, anything else fixed text. */
  #publicError(error: unknown, ctx: ServingRequest): EnclaveKitError {
    if (error instanceof EnclaveKitError) return error;
    try {
      this.#onHandlerError?.(error, { id: ctx.id, op: ctx.op });
    } catch {
      // A failing log hook must not keep the caller waiting.
    }
    return toEnclaveKitError(error); // ServiceError ERR_INTERNAL, fixed message, cause kept locally
  }

  #onCancel(id: number): void {
    this.#serving.get(id)?.abandon(new ProtocolError('ERR_CANCELLED', 'cancelled by the caller'));
  }

  // Both.

  #onFrame(payload: Uint8Array): void {
    const m = decodeMessage(payload);
    switch (m.kind) {
      case 'request':
        this.#onRequest(m);
        return;
      case 'reply':
        this.#onReply(m);
        return;
      case 'cancel':
        this.#onCancel(m.id);
        return;
      case 'invalid':
        this.#onInvalid(m);
        return;
    }
  }

  #onInvalid(m: InvalidMessage): void {
    this.#counters.malformedFrames++;
    if (m.id === null) return;
    if (m.role === 'request') {
      this.#sendError(m.id, m.error);
    } else if (m.role === 'reply') {
      const p = this.#pending.get(m.id);
      if (p !== undefined && this.#settle(p)) p.reject(m.error);
    }
  }

  #sendError(id: number, error: EnclaveKitError): void {
    this.#sendQuietly(encodeReplyError(id, error.code, error.message));
  }

  /** Sends a reply or cancel; a closed channel means nobody is waiting for it any more. */
  #sendQuietly(frame: Uint8Array): void {
    if (this.#closeReason !== null || this.channel.closed) {
      this.#counters.abandonedReplies++;
      return;
    }
    try {
      this.channel.send(frame);
    } catch {
      this.#counters.abandonedReplies++;
    }
  }

  #teardown(reason: ProtocolError): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    const lost = new ProtocolError('ERR_CONNECTION_LOST', 'connection lost before the reply', { cause: reason });
    const pending = [...this.#pending.values()];
    this.#queue = [];
    this.#queueHead = 0;
    for (const p of pending) {
      if (this.#settle(p)) p.reject(lost);
    }
    for (const ctx of this.#serving.values()) ctx.abandon(lost);
    this.#serving.clear();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(reason);
  }
}
