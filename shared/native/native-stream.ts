/**
 * A stream.Duplex over a NativeSocket (native/stream.c): the byte stream for socket families Node
 * cannot wrap itself (AF_VSOCK), also used on AF_UNIX so tests run the same path without a vsock
 * peer. Semantics follow net.Socket where they matter to callers:
 * - reading starts when the consumer reads, and stops while the readable buffer is full
 *   (backpressure); EOF from the peer ends the readable side;
 * - a write completes when every byte reached the kernel; unwritten bytes wait for `writable`;
 * - end() half-closes (shutdown(SHUT_WR)) once queued writes are flushed; with the default
 *   `allowHalfOpen: false` (as net.Socket) the peer's EOF also ends our side. Pass
 *   `allowHalfOpen: true` for a TLS server or a byte relay on this stream: TLS over a JS Duplex
 *   (JSStreamSocket) sees that auto-end and loses what it writes after the peer's FIN, where a
 *   net.Socket escapes it because TLSWrap reads the socket's handle directly;
 * - socket errors destroy the stream with a typed ProtocolError (ERR_CONNECTION_LOST for a peer
 *   that reset or vanished, ERR_TRANSPORT otherwise), the errno name in `cause`.
 */
import { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import {
  isSystemError,
  SOCKET_EVENT,
  SOCKET_MODE,
  type NativeAddon,
  type NativeSocketHandle,
  type SocketAddress,
} from './addon.js';

const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ENOTCONN', 'ESHUTDOWN', 'ECONNABORTED', 'ETIMEDOUT']);

/** A typed error for an errno name from the addon. */
export function socketError(code: string, what: string, cause?: unknown): ProtocolError {
  const options = { cause: cause ?? Object.assign(new Error(code), { code }) };
  return PEER_GONE.has(code)
    ? new ProtocolError('ERR_CONNECTION_LOST', `${what}: connection lost (${code})`, options)
    : new ProtocolError('ERR_TRANSPORT', `${what}: socket error (${code})`, options);
}

export interface NativeStreamOptions {
  /** Keep our writable side open after the peer's EOF (default false, as net.Socket). */
  allowHalfOpen?: boolean;
  /** Readable buffer size before reading pauses, bytes (Node's default 16 KiB is small for bulk). */
  highWaterMark?: number;
}

interface PendingWrite {
  chunks: Buffer[];
  callback: (error?: Error | null) => void;
}

export class NativeStream extends Duplex {
  /** Peer and local addresses, read once connected (undefined if the kernel would not say). */
  remoteAddress: SocketAddress | undefined;
  localAddress: SocketAddress | undefined;

  private readonly handle: NativeSocketHandle;
  private connecting: boolean;
  private reading = false;
  private wantRead = false;
  private pendingWrite: PendingWrite | undefined;
  private connectWaiter: ((code: string | null) => void) | undefined;

  /**
   * Takes ownership of `fd` (closed on destroy, or here if the handle cannot be created).
   * `connecting`: the fd has a connect() in flight; use `connected()` before handing it out.
   */
  constructor(
    private readonly addon: NativeAddon,
    fd: number,
    connecting: boolean,
    options: NativeStreamOptions = {},
  ) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.highWaterMark ?? 256 * 1024,
      writableHighWaterMark: options.highWaterMark ?? 256 * 1024,
      decodeStrings: true,
    });
    this.connecting = connecting;
    try {
      this.handle = new addon.NativeSocket(fd, connecting ? SOCKET_MODE.connecting : SOCKET_MODE.stream, (kind, a, b) =>
        this.onEvent(kind, a, b),
      );
    } catch (error) {
      addon.closeFd(fd);
      throw socketError(isSystemError(error) ? error.code : 'EINVAL', 'cannot watch socket', error);
    }
    if (!connecting) this.readAddresses();
  }

  /** Resolves once connect() completed, or rejects with ERR_TRANSPORT and destroys the stream. */
  connected(timeoutMs: number, target: string): Promise<this> {
    if (!this.connecting) return Promise.resolve(this);
    return new Promise<this>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connectWaiter = undefined;
        const error = new ProtocolError('ERR_TRANSPORT', `connect to ${target} timed out after ${timeoutMs} ms`);
        this.destroy();
        reject(error);
      }, timeoutMs);
      this.connectWaiter = (code) => {
        clearTimeout(timer);
        this.connectWaiter = undefined;
        if (code === null) {
          resolve(this);
          return;
        }
        this.destroy();
        reject(new ProtocolError('ERR_TRANSPORT', `connect to ${target} failed (${code})`, { cause: Object.assign(new Error(code), { code }) }));
      };
    });
  }

  /** Lets the process exit while this stream is idle (as net.Socket#unref). */
  unref(): this {
    this.handle.unref();
    return this;
  }

  ref(): this {
    this.handle.ref();
    return this;
  }

  override _read(): void {
    if (this.connecting) {
      this.wantRead = true;
      return;
    }
    if (!this.reading && !this.destroyed) {
      this.reading = true;
      this.handle.readStart();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.startWrite([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.startWrite(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.handle.shutdown();
      callback();
    } catch (error) {
      callback(socketError(isSystemError(error) ? error.code : 'EIO', 'shutdown', error));
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pendingWrite = undefined;
    this.handle.close();
    callback(error);
  }

  private readAddresses(): void {
    try {
      this.remoteAddress = this.addon.socketPeerName(this.handle.fd);
      this.localAddress = this.addon.socketName(this.handle.fd);
    } catch {
      // ENOTCONN when the peer left already; the first read will report it.
    }
  }

  private startWrite(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const nonEmpty = chunks.filter((c) => c.length > 0);
    if (nonEmpty.length === 0) {
      callback();
      return;
    }
    this.pendingWrite = { chunks: nonEmpty, callback };
    this.flush();
  }

  /** Writes as much of the pending write as the socket takes; waits for `writable` for the rest. */
  private flush(): void {
    const pending = this.pendingWrite;
    if (pending === undefined || this.destroyed) return;
    while (pending.chunks.length > 0) {
      let written: number;
      try {
        written = this.handle.write(pending.chunks);
      } catch (error) {
        this.pendingWrite = undefined;
        pending.callback(socketError(isSystemError(error) ? error.code : 'EIO', 'write', error));
        return;
      }
      if (written === 0) {
        this.handle.waitWritable();
        return;
      }
      while (written > 0) {
        const first = pending.chunks[0]!;
        if (first.length <= written) {
          written -= first.length;
          pending.chunks.shift();
        } else {
          pending.chunks[0] = first.subarray(written);
          written = 0;
        }
      }
    }
    this.pendingWrite = undefined;
    pending.callback();
  }

  private onEvent(kind: number, a: unknown, b: unknown): void {
    switch (kind) {
      case SOCKET_EVENT.data:
        if (!this.push(a as Buffer) && this.reading && !this.destroyed) {
          this.reading = false;
          this.handle.readStop();
        }
        return;
      case SOCKET_EVENT.eof:
        this.reading = false;
        this.push(null);
        return;
      case SOCKET_EVENT.writable:
        this.flush();
        return;
      case SOCKET_EVENT.connect: {
        this.connecting = false;
        const code = a as string | null;
        if (code === null) this.readAddresses();
        this.connectWaiter?.(code);
        if (code === null && this.wantRead) this._read();
        return;
      }
      case SOCKET_EVENT.error:
        void b; // errno number; the name in `a` is what callers match on
        if (this.connectWaiter !== undefined) this.connectWaiter(a as string);
        else this.destroy(socketError(a as string, 'socket'));
        return;
      default:
        return;
    }
  }
}
