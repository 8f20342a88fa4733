/**
 * Loads enclavekit's native addon (native/*.c, built by node-gyp into build/Release/enclavekit.node)
 * and types its exports. Looked for, in order:
 * 1. `ENCLAVEKIT_ADDON` (a path to the .node file; when set, nothing else is tried);
 * 2. `enclavekit.node` beside this module, which is how the enclave image ships it next to the
 *    bundle dist/enclave.js;
 * 3. `build/Release/enclavekit.node` in this module's directory or an ancestor (the package root
 *    from shared/native/ in source, or from dist/ in the CLI bundle).
 * A missing addon is a typed error naming what was tried: ERR_NSM_UNAVAILABLE when the caller wants
 * the NSM device, ERR_TRANSPORT when it wants a vsock/native socket.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolError, ServiceError, type EnclaveKitError } from '../errors.js';

export const ADDON_FILE = 'enclavekit.node';
export const ADDON_ENV = 'ENCLAVEKIT_ADDON';

/** NativeSocket modes (native/stream.c). */
export const SOCKET_MODE = { stream: 0, listener: 1, connecting: 2 } as const;

/** Events passed to a NativeSocket's onEvent (native/stream.c). */
export const SOCKET_EVENT = { data: 1, eof: 2, error: 3, writable: 4, connect: 5, accept: 6 } as const;

export type SocketAddress =
  | { family: 'vsock'; cid: number; port: number }
  | { family: 'unix'; path: string }
  | { family: 'other' };

export interface NativeSocketHandle {
  readStart(): void;
  readStop(): void;
  /** One sendmsg() of the buffers; returns the bytes written, 0 when the socket would block. */
  write(buffers: readonly Uint8Array[]): number;
  /** Ask for one `writable` event. */
  waitWritable(): void;
  /** shutdown(SHUT_WR): the peer reads EOF once our written bytes are drained. */
  shutdown(): void;
  /** Stops polling and closes the fd (idempotent). */
  close(): void;
  ref(): void;
  unref(): void;
  readonly fd: number;
}

export type SocketEventHandler = (kind: number, a: unknown, b: unknown) => void;

export interface NativeAddon {
  /** One NSM_IOCTL_RAW round trip on the libuv thread pool; rejects with a system error (code = errno name). */
  nsmIoctl(fd: number, request: Uint8Array): Promise<Buffer>;
  readonly NSM_REQUEST_MAX_SIZE: number;
  readonly NSM_RESPONSE_MAX_SIZE: number;
  readonly NSM_IOCTL_RAW?: number;

  /** Non-blocking connect; the fd completes through a NativeSocket in `connecting` mode. */
  unixConnect(path: string): number;
  unixListen(path: string, backlog: number): number;
  vsockConnect(cid: number, port: number): number;
  /** Returns [fd, bound cid, bound port]. */
  vsockListen(cid: number, port: number, backlog: number): [number, number, number];
  socketPeerName(fd: number): SocketAddress;
  socketName(fd: number): SocketAddress;
  closeFd(fd: number): void;
  NativeSocket: new (fd: number, mode: number, onEvent: SocketEventHandler) => NativeSocketHandle;

  readonly VSOCK_SUPPORTED: number;
  readonly VMADDR_CID_ANY?: number;
  readonly VMADDR_CID_HYPERVISOR?: number;
  readonly VMADDR_CID_LOCAL?: number;
  readonly VMADDR_CID_HOST?: number;
  readonly VMADDR_PORT_ANY?: number;
}

/** A Node-style system error from the addon: `code` is the errno name ("ECONNREFUSED"). */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SystemError>).code === 'string' &&
    typeof (error as Partial<SystemError>).errno === 'number'
  );
}

/** The paths tried, in order (see the file comment). */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, from: string = dirname(fileURLToPath(import.meta.url))): string[] {
  const explicit = env[ADDON_ENV];
  if (explicit !== undefined && explicit !== '') return [resolve(explicit)];
  const candidates = [join(from, ADDON_FILE)];
  let dir = from;
  for (let i = 0; i < 5; i += 1) {
    candidates.push(join(dir, 'build', 'Release', ADDON_FILE));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return candidates;
}

let cached: NativeAddon | undefined;
let loadFailure: { message: string; cause: unknown } | undefined;

function tryLoad(): NativeAddon | undefined {
  if (cached !== undefined || loadFailure !== undefined) return cached;
  const candidates = addonCandidates();
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) {
    loadFailure = {
      message: `native addon ${ADDON_FILE} not found (tried ${candidates.join(', ')}); build it with \`npx node-gyp rebuild\` or set ${ADDON_ENV}`,
      cause: undefined,
    };
    return undefined;
  }
  try {
    // A .node file is loaded through CommonJS require (process.dlopen); the path is dynamic so
    // bundlers leave it alone.
    cached = createRequire(import.meta.url)(found) as NativeAddon;
  } catch (cause) {
    loadFailure = { message: `native addon ${found} failed to load`, cause };
  }
  return cached;
}

/** The addon, or undefined when it is missing (for tests that skip without it). */
export function findAddon(): NativeAddon | undefined {
  return tryLoad();
}

/** Why the addon is unavailable, or undefined when it loaded. */
export function addonLoadError(): string | undefined {
  tryLoad();
  return loadFailure?.message;
}

/**
 * The addon, or a typed error for the caller's purpose: 'nsm' → ERR_NSM_UNAVAILABLE,
 * 'transport' → ERR_TRANSPORT.
 */
export function loadAddon(purpose: 'nsm' | 'transport'): NativeAddon {
  const addon = tryLoad();
  if (addon !== undefined) return addon;
  const failure = loadFailure!;
  const options = failure.cause === undefined ? undefined : { cause: failure.cause };
  const error: EnclaveKitError =
    purpose === 'nsm'
      ? new ServiceError('ERR_NSM_UNAVAILABLE', failure.message, options)
      : new ProtocolError('ERR_TRANSPORT', failure.message, options);
  throw error;
}
