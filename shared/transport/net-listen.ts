/**
 * Listening for net.Server / http.Server on TCP or a Unix path, with the chores done once:
 * a stale Unix socket file (left by a killed process) is removed only if it is a socket and a
 * probe finds nobody listening on it, and closing also destroys the connections still open (a listener owner that
 * wants a graceful end closes its channels first).
 */
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { ProtocolError } from '../errors.js';
import { formatTransportUrl, type TransportAddress } from './url.js';

export type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

function errnoCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

function listenOnce(server: net.Server, target: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (target.kind === 'tcp') server.listen({ host: target.host, port: target.port });
    else server.listen({ path: target.path });
  });
}

/** True if something accepts connections on the Unix socket at `path`. */
function unixSocketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error) => resolve(errnoCode(error) !== 'ECONNREFUSED' && errnoCode(error) !== 'ENOENT'));
  });
}

/** A socket file nobody listens on (never a regular file: that would be someone's data). */
async function isStaleSocket(path: string): Promise<boolean> {
  const stat = await lstat(path).catch(() => null);
  return stat !== null && stat.isSocket() && !(await unixSocketInUse(path));
}

/** Starts `server` listening; ERR_TRANSPORT on failure. Returns the address actually bound. */
export async function listenServer(server: net.Server, target: ListenTarget): Promise<ListenTarget> {
  const describe = (): string => formatTransportUrl(target as TransportAddress);
  try {
    await listenOnce(server, target);
  } catch (error) {
    if (target.kind === 'unix' && errnoCode(error) === 'EADDRINUSE' && (await isStaleSocket(target.path))) {
      await unlink(target.path).catch(() => undefined);
      try {
        await listenOnce(server, target);
      } catch (retryError) {
        throw new ProtocolError('ERR_TRANSPORT', `cannot listen on ${describe()} (${errnoCode(retryError)})`, { cause: retryError });
      }
    } else {
      throw new ProtocolError('ERR_TRANSPORT', `cannot listen on ${describe()} (${errnoCode(error)})`, { cause: error });
    }
  }
  if (target.kind === 'unix') return target;
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : target.port;
  return { kind: 'tcp', host: target.host, port };
}

/** Tracks a server's open sockets so that close() can end them. */
export function trackConnections(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Stops accepting, destroys open sockets, resolves once the server has closed. */
export function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      for (const socket of sockets) socket.destroy();
      resolve();
      return;
    }
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}
