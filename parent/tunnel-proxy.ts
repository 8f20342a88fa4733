/**
 * The parent's allowlisted byte proxy for the enclave's KMS connections (the role of AWS's
 * vsock-proxy). The enclave names a target in a one-line handshake; the parent checks it against
 * the allowlist, resolves and connects on the host, answers OK, then copies bytes both ways
 * without looking at them. It never originates KMS requests itself: TLS and SigV4 end inside the
 * enclave (docs/security.md).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { EnclaveKitError, type ErrorCode } from '../shared/errors.js';
import {
  HandshakeLineReader,
  encodeTunnelReply,
  formatTarget,
  parseTarget,
  parseTunnelRequestLine,
  type TunnelTarget,
} from '../shared/tunnel/handshake.js';

export interface TunnelProxyOptions {
  /** "host:port" entries; the enclave may reach these and nothing else. */
  allowlist: readonly string[];
  /** How long the enclave has to send its handshake, and the parent to connect upstream. */
  handshakeTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Overrides how upstream connections are made (tests relay through a byte tap this way). */
  connectUpstream?: (target: TunnelTarget) => Duplex;
  onEvent?: (event: TunnelEvent) => void;
}

export type TunnelEvent =
  | { type: 'open'; target: string }
  | { type: 'denied'; target: string | undefined; code: ErrorCode }
  | { type: 'close'; target: string; bytesUp: number; bytesDown: number };

export class TunnelProxy {
  readonly #allowed: ReadonlySet<string>;
  readonly #options: TunnelProxyOptions;
  readonly #open = new Set<Duplex>();
  bytesUp = 0;
  bytesDown = 0;

  constructor(options: TunnelProxyOptions) {
    this.#allowed = new Set(options.allowlist.map((entry) => formatTarget(parseTarget(entry)).toLowerCase()));
    this.#options = options;
  }

  isAllowed(target: TunnelTarget): boolean {
    return this.#allowed.has(formatTarget(target).toLowerCase());
  }

  /** Takes ownership of one stream opened by the enclave. */
  handle(stream: Duplex): void {
    this.#open.add(stream);
    stream.once('close', () => this.#open.delete(stream));
    stream.on('error', () => stream.destroy());
    const reader = new HandshakeLineReader();
    const timer = setTimeout(() => this.#refuse(stream, undefined, 'ERR_DEADLINE_EXCEEDED'), this.#options.handshakeTimeoutMs ?? 5_000);
    const onData = (chunk: Buffer): void => {
      let parsed: ReturnType<HandshakeLineReader['push']>;
      let target: TunnelTarget;
      try {
        parsed = reader.push(chunk);
        if (parsed === undefined) return;
        target = parseTunnelRequestLine(parsed.line);
      } catch (error) {
        clearTimeout(timer);
        stream.off('data', onData);
        this.#refuse(stream, undefined, error instanceof EnclaveKitError ? error.code : 'ERR_FRAME_MALFORMED');
        return;
      }
      clearTimeout(timer);
      stream.off('data', onData);
      stream.pause();
      if (!this.isAllowed(target)) {
        this.#refuse(stream, formatTarget(target), 'ERR_PROXY_DENIED');
        return;
      }
      this.#connect(stream, target, parsed.rest);
    };
    stream.on('data', onData);
  }

  /** Destroys every open tunnel (shutdown). */
  closeAll(): void {
    for (const stream of this.#open) stream.destroy();
  }

  #refuse(stream: Duplex, target: string | undefined, code: ErrorCode): void {
    this.#options.onEvent?.({ type: 'denied', target, code });
    stream.end(encodeTunnelReply(code));
    setTimeout(() => stream.destroy(), 1_000).unref();
  }

  #connect(stream: Duplex, target: TunnelTarget, early: Buffer): void {
    const label = formatTarget(target);
    const upstream =
      this.#options.connectUpstream?.(target) ??
      net.connect({ host: target.host, port: target.port, timeout: this.#options.connectTimeoutMs ?? 10_000 });
    let connected = false;
    const fail = (): void => {
      if (!connected) {
        this.#refuse(stream, label, 'ERR_KMS_UNAVAILABLE');
        upstream.destroy();
      } else {
        stream.destroy();
        upstream.destroy();
      }
    };
    upstream.once('error', fail);
    upstream.once('timeout', fail);
    const onReady = (): void => {
      connected = true;
      if (upstream instanceof net.Socket) upstream.setTimeout(0);
      this.#options.onEvent?.({ type: 'open', target: label });
      stream.write(encodeTunnelReply());
      if (early.length > 0) upstream.write(early);
      let up = early.length;
      let down = 0;
      stream.on('data', (chunk: Buffer) => {
        up += chunk.length;
        this.bytesUp += chunk.length;
      });
      upstream.on('data', (chunk: Buffer) => {
        down += chunk.length;
        this.bytesDown += chunk.length;
      });
      stream.pipe(upstream);
      upstream.pipe(stream);
      stream.once('close', () => upstream.destroy());
      upstream.once('close', () => {
        stream.destroy();
        this.#options.onEvent?.({ type: 'close', target: label, bytesUp: up, bytesDown: down });
      });
      stream.resume();
    };
    if (upstream instanceof net.Socket && upstream.connecting) upstream.once('connect', onReady);
    else setImmediate(onReady);
  }
}
