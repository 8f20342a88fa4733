/**
 * The parent's link to one enclave: connects (vsock in production, Unix/WebSocket in dev),
 * reconnects with capped, jittered exponential backoff, serves the enclave's requests to the
 * parent (credentials, logs), keeps the enclave's readiness fresh, and carries API calls.
 * A lost link fails every pending call at once (the RPC layer's ERR_CONNECTION_LOST, a 503).
 */
import { ServiceError } from '../shared/errors.js';
import type { FrameChannel } from '../shared/protocol/channel.js';
import { RpcPeer, type RpcHandler } from '../shared/protocol/rpc.js';
import { judgeClockOffset } from './clock-gate.js';
import type { EnclaveGateway, EnclaveStatus } from './enclave-gateway.js';

export interface EnclaveLinkOptions {
  /** The enclave's address, for logs and metrics. */
  url?: string;
  connect: () => Promise<FrameChannel>;
  /** Operations the enclave may call on the parent. */
  handlers: Readonly<Record<string, RpcHandler>>;
  /** Runs after every (re)connect, before the link counts as ready (e.g. hand over wrapped keys). */
  onConnected?: (peer: RpcPeer) => Promise<void>;
  onEvent?: (event: { type: 'connected' | 'disconnected' | 'ready' | 'not-ready' | 'boot-failed' | 'clock-warning'; reason?: string }) => void;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Every status reply, with the parent's clock before and after the request (clock offsets, metrics). */
  onStatus?: (reply: Readonly<Record<string, unknown>>, sentAt: number, receivedAt: number) => void;
  /** Refuse readiness when the enclave clock is further than this from the parent's, ms (parent/clock-gate.ts). */
  maxClockOffsetMs?: number;
  /**
   * Checks the enclave's boot-failure text before it is kept, logged or shown on /readyz (the
   * parent's redaction guard); returns undefined to drop it. Default: keep.
   */
  screenReason?: (text: string) => string | undefined;
  /** Emit a 'clock-warning' event (once per crossing) beyond this offset, ms; default: no warning. */
  clockWarnOffsetMs?: number;
  /** How often readiness is re-checked while connected, ms. */
  statusIntervalMs?: number;
  random?: () => number;
}

/** The enclave's last boot as it reported it (status reply `boot`, or its `boot-failed` event). */
export interface BootOutcome {
  outcome: 'booting' | 'ready' | 'failed';
  /** For a failed boot: the error code and message (never a secret: enclave errors carry none). */
  reason?: string | undefined;
}

interface StatusReply {
  ready?: unknown;
  reason?: unknown;
  boot?: unknown;
  /** The enclave's clock when it answered, ms since the epoch. */
  now?: unknown;
}

export class EnclaveLink implements EnclaveGateway {
  readonly #options: EnclaveLinkOptions;
  #peer: RpcPeer | undefined;
  #ready = false;
  #reason: string | undefined = 'not connected yet';
  #attempt = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #lastBoot: BootOutcome | undefined;
  readonly #handlers: Readonly<Record<string, RpcHandler>>;
  #clockWarned = false;

  constructor(options: EnclaveLinkOptions) {
    this.#options = options;
    const log = options.handlers.log;
    // A boot failure arrives as a log event (sent as soon as the link exists) and the enclave exits
    // soon after: keep its reason, so /readyz and `enclavekit status` can still say why.
    this.#handlers = {
      ...options.handlers,
      log: async (body, ctx) => {
        const raw = (typeof body === 'object' && body !== null ? body : {}) as { event?: unknown; fields?: unknown };
        if (raw.event === 'boot-failed') this.#noteBoot(parseBoot({ outcome: 'failed', ...(typeof raw.fields === 'object' ? raw.fields : {}) }));
        return log === undefined ? {} : log(body, ctx);
      },
    };
  }

  /** Enclave-supplied text on its way to /readyz and the log. */
  #screen(text: string): string {
    const screen = this.#options.screenReason;
    return screen === undefined ? text : (screen(text) ?? '(reason withheld by the redaction guard)');
  }

  /** The last boot outcome the enclave reported, if any. */
  lastBoot(): BootOutcome | undefined {
    return this.#lastBoot;
  }

  #noteBoot(parsed: BootOutcome | undefined): void {
    if (parsed === undefined) return;
    const boot = parsed.reason === undefined ? parsed : { ...parsed, reason: this.#screen(parsed.reason) };
    const changed = boot.outcome !== this.#lastBoot?.outcome || boot.reason !== this.#lastBoot?.reason;
    this.#lastBoot = boot;
    if (changed && boot.outcome === 'failed') this.#options.onEvent?.({ type: 'boot-failed', ...(boot.reason === undefined ? {} : { reason: boot.reason }) });
  }

  get url(): string | undefined {
    return this.#options.url;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#statusTimer);
    this.#peer?.close();
  }

  status(): EnclaveStatus {
    const connected = this.#peer !== undefined && !this.#peer.closed;
    if (this.#ready) return { connected, ready: true, reason: undefined };
    const boot = this.#lastBoot;
    const reason = boot?.outcome === 'failed' ? `enclave boot failed: ${boot.reason ?? 'no reason given'}` : this.#reason;
    return { connected, ready: false, reason };
  }

  /** In-flight and capacity figures for routing between several enclaves. */
  load(): number {
    return this.#peer?.stats.pending ?? Number.POSITIVE_INFINITY;
  }

  /** Calls sent to the enclave and not yet answered (0 when not connected). */
  inFlight(): number {
    return this.#peer?.stats.pending ?? 0;
  }

  async call(op: string, body: unknown, options: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    const peer = this.#peer;
    if (peer === undefined || peer.closed) throw new ServiceError('ERR_ENCLAVE_UNAVAILABLE', 'enclave not connected');
    return peer.request(op, body, options);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let channel: FrameChannel;
    try {
      channel = await this.#options.connect();
    } catch (error) {
      this.#reason = 'enclave not reachable';
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) {
      channel.close();
      return;
    }
    const peer = new RpcPeer(channel, { handlers: this.#handlers });
    this.#peer = peer;
    this.#attempt = 0;
    this.#reason = 'enclave connected, not ready';
    this.#options.onEvent?.({ type: 'connected' });
    peer.onClose(() => {
      if (this.#peer !== peer) return;
      this.#peer = undefined;
      this.#setReady(false, 'enclave connection lost');
      clearInterval(this.#statusTimer);
      this.#options.onEvent?.({ type: 'disconnected' });
      this.#scheduleReconnect();
    });
    try {
      await this.#options.onConnected?.(peer);
    } catch (error) {
      this.#reason = `enclave setup failed (${error instanceof Error && 'code' in error ? String(error.code) : 'error'})`;
    }
    await this.#refreshStatus(peer);
    clearInterval(this.#statusTimer);
    this.#statusTimer = setInterval(() => void this.#refreshStatus(peer), this.#options.statusIntervalMs ?? 1_000);
    this.#statusTimer.unref();
  }

  async #refreshStatus(peer: RpcPeer): Promise<void> {
    if (peer.closed || this.#peer !== peer) return;
    try {
      const sentAt = Date.now();
      const reply = (await peer.request('status', {}, { deadlineMs: 2_000 })) as StatusReply;
      const receivedAt = Date.now();
      this.#options.onStatus?.(reply as Record<string, unknown>, sentAt, receivedAt);
      this.#noteBoot(parseBoot(reply.boot));
      const offset = clockOffsetMs(reply, sentAt, receivedAt);
      const maxMs = this.#options.maxClockOffsetMs ?? Number.POSITIVE_INFINITY;
      const verdict = offset === undefined ? { level: 'ok' as const } : judgeClockOffset(offset, { maxMs, warnMs: this.#options.clockWarnOffsetMs ?? maxMs });
      if (verdict.level === 'warn' && !this.#clockWarned) this.#options.onEvent?.({ type: 'clock-warning', reason: verdict.reason });
      this.#clockWarned = verdict.level !== 'ok';
      if (verdict.level === 'unready') {
        this.#setReady(false, verdict.reason);
        return;
      }
      this.#setReady(reply.ready === true, typeof reply.reason === 'string' ? this.#screen(reply.reason.slice(0, 200)) : 'enclave not ready');
    } catch {
      this.#setReady(false, 'enclave status unavailable');
    }
  }

  #setReady(ready: boolean, reason: string | undefined): void {
    const changed = ready !== this.#ready;
    this.#ready = ready;
    this.#reason = ready ? undefined : reason;
    if (changed) this.#options.onEvent?.(ready ? { type: 'ready' } : { type: 'not-ready', ...(reason === undefined ? {} : { reason }) });
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const initial = this.#options.backoff?.initialMs ?? 100;
    const max = this.#options.backoff?.maxMs ?? 5_000;
    const ceiling = Math.min(max, initial * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), floored so a dead
    // enclave is not hammered.
    const delay = Math.max(initial / 2, (this.#options.random ?? Math.random)() * ceiling);
    this.#timer = setTimeout(() => void this.#connect(), delay);
    this.#timer.unref();
  }
}

function parseBoot(raw: unknown): BootOutcome | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { outcome, code, message, reason } = raw as Record<string, unknown>;
  if (outcome !== 'booting' && outcome !== 'ready' && outcome !== 'failed') return undefined;
  const text = typeof reason === 'string' ? reason : typeof code === 'string' ? `${code}${typeof message === 'string' ? `: ${message}` : ''}` : undefined;
  // What the enclave says is shown to operators: bounded, printable only.
  return { outcome, reason: text?.replace(/[^\x20-\x7e]/g, '?').slice(0, 300) };
}

/** Enclave clock minus the parent's, taking the request's midpoint as the moment it answered. */
export function clockOffsetMs(reply: { now?: unknown }, sentAt: number, receivedAt: number): number | undefined {
  return typeof reply.now === 'number' && Number.isFinite(reply.now) ? reply.now - (sentAt + receivedAt) / 2 : undefined;
}
