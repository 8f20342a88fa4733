/**
 * NsmTransport over a Unix socket: how a dev enclave (an ordinary process) reaches the simulator
 * process that stands in for /dev/nsm. Each call sends one raw NSM request in a 4-byte big-endian
 * length frame and receives one response frame (shared/nsm/framing.ts). The protocol has no request
 * ids, so answers match calls in order; one lazily opened connection is shared and re-opened after
 * a failure.
 */
import { connect, type Socket } from 'node:net';
import { EnclaveKitError, ServiceError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { encodeNsmResponse } from '../../shared/nsm/codec.js';
import { encodeNsmFrame, NsmFrameReader } from '../../shared/nsm/framing.js';
import type { NsmTransport } from '../../shared/nsm/types.js';

export interface NsmSocketOptions {
  /** Per call, ms. The real NSM's virtio timeout is 120 s; the simulator answers in milliseconds. */
  timeoutMs?: number;
}

interface Pending {
  resolve: (response: Uint8Array) => void;
  reject: (error: EnclaveKitError) => void;
  timer: NodeJS.Timeout;
}

class NsmSocketTransport implements NsmTransport {
  private socket: Socket | undefined;
  private connected: Promise<Socket> | undefined;
  private readonly pending: Pending[] = [];
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly timeoutMs: number,
  ) {}

  async call(request: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM socket transport is closed');
    // The driver's own check (nsm-api src/driver/mod.rs): never sent, answered as InputTooLarge.
    if (request.length > LIMITS.nsmRequestMaxBytes) return encodeNsmResponse({ kind: 'Error', code: 'InputTooLarge' });
    const socket = await this.open();
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Order is lost once an answer is missing: drop the connection and everything on it.
        this.fail(socket, new ServiceError('ERR_NSM_UNAVAILABLE', `NSM socket did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.push({ resolve, reject, timer });
      socket.write(encodeNsmFrame(request));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    if (socket !== undefined) this.fail(socket, new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM socket transport is closed'));
  }

  private open(): Promise<Socket> {
    this.connected ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ path: this.path });
      const reader = new NsmFrameReader(LIMITS.nsmResponseMaxBytes);
      socket.once('connect', () => {
        this.socket = socket;
        resolve(socket);
      });
      socket.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = reader.push(chunk);
        } catch (error) {
          this.fail(socket, error as EnclaveKitError);
          return;
        }
        for (const frame of frames) {
          const call = this.pending.shift();
          if (call === undefined) {
            this.fail(socket, new ServiceError('ERR_NSM_MALFORMED', 'NSM socket sent an unsolicited response'));
            return;
          }
          clearTimeout(call.timer);
          call.resolve(frame);
        }
      });
      socket.on('error', (error) => {
        const wrapped = new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM socket failed', { cause: error });
        if (this.socket !== socket) {
          this.connected = undefined;
          reject(wrapped);
        }
        this.fail(socket, wrapped);
      });
      socket.on('close', () => this.fail(socket, new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM socket closed')));
    });
    return this.connected;
  }

  /** Fails every call waiting on `socket` and forgets the connection so that the next call reconnects. */
  private fail(socket: Socket, error: EnclaveKitError): void {
    if (this.socket === socket) {
      this.socket = undefined;
      this.connected = undefined;
      for (const call of this.pending.splice(0)) {
        clearTimeout(call.timer);
        call.reject(error);
      }
    }
    socket.destroy();
  }
}

/** A transport to an NSM (simulator) listening on the Unix socket `path`; connects on first use. */
export function connectNsmSocket(path: string, options: NsmSocketOptions = {}): NsmTransport {
  return new NsmSocketTransport(path, options.timeoutMs ?? 30_000);
}
