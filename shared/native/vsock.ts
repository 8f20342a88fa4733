/**
 * AF_VSOCK streams for the parent ⇄ enclave link (vsock(7); Node has no AF_VSOCK), and the same
 * native code path on AF_UNIX so that tests exercise it without a vsock peer. Connections are
 * NativeStream Duplexes (native-stream.ts); listeners accept through a NativeSocket in listener
 * mode. Nitro addressing: the parent is CID 3 (VMADDR_CID_HOST) as seen from an enclave, an
 * enclave has the CID given at launch, CID 1 is local loopback (vsock_loopback).
 */
import { unlink } from 'node:fs/promises';
import { ProtocolError } from '../errors.js';
import { isSystemError, loadAddon, SOCKET_EVENT, SOCKET_MODE, type NativeAddon, type NativeSocketHandle } from './addon.js';
import { NativeStream, socketError, type NativeStreamOptions } from './native-stream.js';

export { NativeStream, type NativeStreamOptions } from './native-stream.js';

/** include/uapi/linux/vm_sockets.h */
export const VMADDR_CID_ANY = 0xffffffff;
export const VMADDR_CID_LOCAL = 1;
export const VMADDR_CID_HOST = 2;
export const VMADDR_PORT_ANY = 0xffffffff;
/** The parent instance's CID as an enclave addresses it (AWS Nitro Enclaves docs, vsock). */
export const NITRO_PARENT_CID = 3;

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Listen backlog, as Node's net default (511). */
const BACKLOG = 511;
/** Pause after an accept error such as EMFILE, so a full fd table does not spin the loop. */
const ACCEPT_RETRY_MS = 100;

export interface ConnectOptions extends NativeStreamOptions {
  timeoutMs?: number;
}

export interface ListenOptions extends NativeStreamOptions {
  /** Called for accept errors (EMFILE...); the listener keeps going. */
  onError?: (error: ProtocolError) => void;
}

export interface NativeListener {
  close(): Promise<void>;
}

export interface VsockListener extends NativeListener {
  port: number;
  cid: number;
}

export interface UnixListener extends NativeListener {
  path: string;
}

function checkUint32(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ProtocolError('ERR_TRANSPORT', `invalid vsock ${name}: ${String(value)}`);
  }
}

function systemCode(error: unknown): string {
  return isSystemError(error) ? error.code : 'EINVAL';
}

async function connectWith(
  addon: NativeAddon,
  open: () => number,
  target: string,
  options: ConnectOptions,
): Promise<NativeStream> {
  let fd: number;
  try {
    fd = open();
  } catch (error) {
    throw new ProtocolError('ERR_TRANSPORT', `connect to ${target} failed (${systemCode(error)})`, { cause: error });
  }
  const stream = new NativeStream(addon, fd, true, options);
  return stream.connected(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, target);
}

/** Connects to vsock CID:PORT (non-blocking connect with a timeout, default 5 s). */
export async function connectVsock(cid: number, port: number, options: ConnectOptions = {}): Promise<NativeStream> {
  checkUint32(cid, 'cid');
  checkUint32(port, 'port');
  const addon = loadAddon('transport');
  return connectWith(addon, () => addon.vsockConnect(cid, port), `vsock://${cid}:${port}`, options);
}

/** Connects to a Unix socket through the native stream path (the test double of connectVsock). */
export async function connectNativeUnix(path: string, options: ConnectOptions = {}): Promise<NativeStream> {
  const addon = loadAddon('transport');
  return connectWith(addon, () => addon.unixConnect(path), `unix://${path}`, options);
}

/** Accepts on a listening fd, handing each connection to `onStream` as a NativeStream. */
function acceptLoop(
  addon: NativeAddon,
  fd: number,
  onStream: (stream: NativeStream) => void,
  options: ListenOptions,
  onClosed: () => Promise<void>,
): NativeListener {
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let handle: NativeSocketHandle;
  const streamOptions: NativeStreamOptions = {};
  if (options.allowHalfOpen !== undefined) streamOptions.allowHalfOpen = options.allowHalfOpen;
  if (options.highWaterMark !== undefined) streamOptions.highWaterMark = options.highWaterMark;
  try {
    handle = new addon.NativeSocket(fd, SOCKET_MODE.listener, (kind, a) => {
      if (kind === SOCKET_EVENT.accept) {
        let stream: NativeStream;
        try {
          stream = new NativeStream(addon, a as number, false, streamOptions);
        } catch (error) {
          options.onError?.(error as ProtocolError);
          return;
        }
        onStream(stream);
      } else if (kind === SOCKET_EVENT.error) {
        options.onError?.(socketError(a as string, 'accept'));
        handle.readStop();
        retry = setTimeout(() => {
          retry = undefined;
          if (!closed) handle.readStart();
        }, ACCEPT_RETRY_MS);
      }
    });
  } catch (error) {
    addon.closeFd(fd);
    throw new ProtocolError('ERR_TRANSPORT', `cannot watch listening socket (${systemCode(error)})`, { cause: error });
  }
  handle.readStart();
  return {
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      handle.close();
      await onClosed();
    },
  };
}

/**
 * Listens on vsock PORT (VMADDR_PORT_ANY for a free one) at `cid` (default VMADDR_CID_ANY), calling
 * `onStream` for each accepted connection. The listener reports the port actually bound.
 */
export async function listenVsock(
  port: number,
  onStream: (stream: NativeStream) => void,
  options: ListenOptions & { cid?: number } = {},
): Promise<VsockListener> {
  const cid = options.cid ?? VMADDR_CID_ANY;
  checkUint32(cid, 'cid');
  checkUint32(port, 'port');
  const addon = loadAddon('transport');
  let bound: [number, number, number];
  try {
    bound = addon.vsockListen(cid, port, BACKLOG);
  } catch (error) {
    throw new ProtocolError('ERR_TRANSPORT', `cannot listen on vsock://${cid}:${port} (${systemCode(error)})`, { cause: error });
  }
  const [fd, boundCid, boundPort] = bound;
  const listener = acceptLoop(addon, fd, onStream, options, async () => {});
  return { close: () => listener.close(), cid: boundCid, port: boundPort };
}

/** Listens on a Unix socket path through the native path; the socket file is removed on close. */
export async function listenNativeUnix(
  path: string,
  onStream: (stream: NativeStream) => void,
  options: ListenOptions = {},
): Promise<UnixListener> {
  const addon = loadAddon('transport');
  let fd: number;
  try {
    fd = addon.unixListen(path, BACKLOG);
  } catch (error) {
    throw new ProtocolError('ERR_TRANSPORT', `cannot listen on unix://${path} (${systemCode(error)})`, { cause: error });
  }
  const listener = acceptLoop(addon, fd, onStream, options, async () => {
    await unlink(path).catch(() => undefined);
  });
  return { close: () => listener.close(), path };
}
