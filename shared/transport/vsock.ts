/**
 * The thin adapter between transport URLs and the native socket addon (shared/native/vsock.ts):
 * AF_VSOCK, which Node cannot open, and the same native code path on AF_UNIX (`native: true` on a
 * unix:// URL) so that tests run everything vsock uses except the address family.
 *
 * The addon is imported lazily: machines without a built addon still use tcp, unix and ws, and
 * get ERR_TRANSPORT only when they ask for vsock.
 */
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { formatTransportUrl } from './url.js';
import { vsockPortClash } from './vsock-ports.js';

type NativeModule = typeof import('../native/vsock.js');

let nativeModule: Promise<NativeModule> | null = null;

function loadNative(): Promise<NativeModule> {
  nativeModule ??= import('../native/vsock.js');
  return nativeModule;
}

export type NativeAddress = { kind: 'vsock'; cid: number; port: number } | { kind: 'unix'; path: string };

/** Errors from the addon are already typed; anything else (and connect-time ERR_CONNECTION_LOST) becomes ERR_TRANSPORT. */
function asTransportError(error: unknown, what: string): ProtocolError {
  if (error instanceof ProtocolError && error.code === 'ERR_TRANSPORT') return error;
  return new ProtocolError('ERR_TRANSPORT', `${what} failed`, { cause: error });
}

export async function dialNative(address: NativeAddress, timeoutMs: number): Promise<Duplex> {
  const url = formatTransportUrl(address);
  try {
    const native = await loadNative();
    return address.kind === 'vsock'
      ? await native.connectVsock(address.cid, address.port, { timeoutMs })
      : await native.connectNativeUnix(address.path, { timeoutMs });
  } catch (error) {
    throw asTransportError(error, `connect to ${url}`);
  }
}

export interface NativeStreamListener {
  /** The address actually bound (a vsock port chosen by the kernel when 0 / VMADDR_PORT_ANY was asked). */
  address: NativeAddress;
  close(): Promise<void>;
}

export async function listenNative(
  address: NativeAddress,
  onStream: (stream: Duplex) => void,
  onError?: (error: ProtocolError) => void,
): Promise<NativeStreamListener> {
  const url = formatTransportUrl(address);
  const options = onError === undefined ? {} : { onError };
  try {
    const native = await loadNative();
    if (address.kind === 'vsock') {
      // Port 0 in a URL means "any free port", which is VMADDR_PORT_ANY for vsock.
      const port = address.port === 0 ? native.VMADDR_PORT_ANY : address.port;
      const listener = await native.listenVsock(port, onStream, { ...options, cid: address.cid });
      return { address: { kind: 'vsock', cid: address.cid, port: listener.port }, close: () => listener.close() };
    }
    const listener = await native.listenNativeUnix(address.path, onStream, options);
    return { address, close: () => listener.close() };
  } catch (error) {
    const clash = address.kind === 'vsock' ? vsockPortClash(address.port, error) : undefined;
    if (clash !== undefined) throw new ProtocolError('ERR_TRANSPORT', `cannot listen on ${url} (EADDRINUSE): ${clash}`, { cause: error });
    throw asTransportError(error, `listen on ${url}`);
  }
}
