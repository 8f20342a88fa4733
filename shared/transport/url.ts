/**
 * Transport URLs: one string in configuration selects how the parent and the enclave reach each
 * other or a tunnel endpoint.
 *
 *   tcp://HOST:PORT               TCP (HOST a name, IPv4, or [IPv6])
 *   unix:///ABS/PATH              Unix stream socket (percent-encoding allowed in the path)
 *   ws://HOST:PORT/PATH           WebSocket, one binary message per frame
 *   ws+unix:///ABS/SOCKET:/PATH   WebSocket over a Unix socket (the `ws` library's IPC URL form)
 *   vsock://CID:PORT              AF_VSOCK through the native addon (CID "any" = VMADDR_CID_ANY,
 *                                 for listening)
 *
 * Port 0 (let the system choose) is accepted for listening only. Anything else (other schemes,
 * credentials, queries on stream URLs, relative paths, out-of-range numbers) is ProtocolError
 * ERR_TRANSPORT. Messages never echo the URL: it could hold credentials.
 */
import { ProtocolError } from '../errors.js';

export type TransportAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'ws'; host: string; port: number; path: string }
  | { kind: 'ws+unix'; socketPath: string; path: string }
  | { kind: 'vsock'; cid: number; port: number };

export type TransportKind = TransportAddress['kind'];

/** VMADDR_CID_ANY (linux/vm_sockets.h): bind to every CID; only meaningful for listening. */
export const VSOCK_CID_ANY = 0xffff_ffff;
/** Linux sun_path is 108 bytes including the terminating NUL (unix(7)). */
export const UNIX_PATH_MAX_BYTES = 107;

function fail(reason: string): never {
  throw new ProtocolError('ERR_TRANSPORT', `invalid transport URL: ${reason}`);
}

function parsePort(text: string, max: number, what: string): number {
  if (!/^\d{1,10}$/.test(text)) fail(`${what} must be a decimal number`);
  const n = Number(text);
  if (n > max) fail(`${what} must be at most ${max}`);
  return n;
}

function checkUnixPath(path: string, what: string): string {
  if (!path.startsWith('/')) fail(`${what} must be absolute`);
  if (path.includes('\0')) fail(`${what} contains NUL`);
  if (Buffer.byteLength(path) > UNIX_PATH_MAX_BYTES) fail(`${what} is longer than ${UNIX_PATH_MAX_BYTES} bytes`);
  return path;
}

function decodePath(encoded: string, what: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return fail(`${what} has a bad percent-escape`);
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;
const IPV6_BRACKETED = /^\[([0-9A-Fa-f:.]{2,45})\]$/;

/** host:port where host is a name, IPv4 or [IPv6]; returns the host without brackets. */
function parseHostPort(authority: string, defaultPort: number | null): { host: string; port: number } {
  let host: string;
  let portText: string | null;
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(authority);
  if (v6 !== null) {
    const inner = IPV6_BRACKETED.exec(v6[1]!);
    if (inner === null) fail('bad IPv6 address');
    host = inner[1]!;
    portText = v6[2] ?? null;
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? null : authority.slice(colon + 1);
    if (!HOSTNAME.test(host)) fail('bad host name');
  }
  if (portText === null) {
    if (defaultPort === null) fail('a port is required');
    return { host, port: defaultPort };
  }
  return { host, port: parsePort(portText, 65535, 'port') };
}

export function parseTransportUrl(url: string): TransportAddress {
  if (typeof url !== 'string') fail('not a string');
  const match = /^([A-Za-z][A-Za-z0-9+.-]{0,19}):\/\/(.*)$/s.exec(url);
  if (match === null) fail('expected scheme://...');
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  if (/[\s#]/.test(rest)) fail('whitespace or fragment');

  switch (scheme) {
    case 'tcp': {
      const authority = rest.endsWith('/') ? rest.slice(0, -1) : rest;
      if (/[/?@]/.test(authority)) fail('tcp URLs take host:port only');
      return { kind: 'tcp', ...parseHostPort(authority, null) };
    }
    case 'unix': {
      if (rest.includes('?')) fail('unix URLs take a path only');
      if (!rest.startsWith('/')) fail('unix URLs need an empty host and an absolute path (unix:///path)');
      return { kind: 'unix', path: checkUnixPath(decodePath(rest, 'socket path'), 'socket path') };
    }
    case 'ws': {
      const slash = rest.search(/[/?]/);
      const authority = slash < 0 ? rest : rest.slice(0, slash);
      let path = slash < 0 ? '/' : rest.slice(slash);
      if (path.startsWith('?')) path = `/${path}`;
      if (authority.includes('@')) fail('credentials in ws URLs are not supported');
      return { kind: 'ws', ...parseHostPort(authority, 80), path };
    }
    case 'ws+unix': {
      // ws's IPC form: the socket path, then ":" and the request path (ws/lib/websocket.js).
      if (!rest.startsWith('/')) fail('ws+unix URLs need an absolute socket path (ws+unix:///socket:/path)');
      const colon = rest.indexOf(':');
      const socketPart = colon < 0 ? rest : rest.slice(0, colon);
      const path = colon < 0 ? '/' : rest.slice(colon + 1);
      if (!path.startsWith('/')) fail('the request path after ":" must start with /');
      return { kind: 'ws+unix', socketPath: checkUnixPath(decodePath(socketPart, 'socket path'), 'socket path'), path };
    }
    case 'vsock': {
      const m = /^([^:/?]+):([^:/?]+)\/?$/.exec(rest);
      if (m === null) fail('vsock URLs are vsock://CID:PORT');
      const cid = m[1]!.toLowerCase() === 'any' ? VSOCK_CID_ANY : parsePort(m[1]!, 0xffff_ffff, 'vsock CID');
      return { kind: 'vsock', cid, port: parsePort(m[2]!, 0xffff_ffff, 'vsock port') };
    }
    default:
      fail(`unknown scheme "${scheme}" (tcp, unix, ws, ws+unix, vsock)`);
  }
}

export function formatTransportUrl(address: TransportAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp://${formatHost(address.host)}:${address.port}`;
    case 'unix':
      return `unix://${encodePath(address.path)}`;
    case 'ws':
      return `ws://${formatHost(address.host)}:${address.port}${address.path}`;
    case 'ws+unix':
      return `ws+unix://${encodePath(address.socketPath)}:${address.path}`;
    case 'vsock':
      return `vsock://${address.cid === VSOCK_CID_ANY ? 'any' : address.cid}:${address.port}`;
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A transport that needs a port refuses 0 when connecting. */
export function assertConnectable(address: TransportAddress): void {
  if ((address.kind === 'tcp' || address.kind === 'ws' || address.kind === 'vsock') && address.port === 0) {
    fail('port 0 is only valid for listening');
  }
  if (address.kind === 'vsock' && address.cid === VSOCK_CID_ANY) fail('CID "any" is only valid for listening');
}
