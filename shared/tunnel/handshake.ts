/**
 * The one-line handshake that opens a KMS tunnel through the parent, like AWS's vsock-proxy but
 * with the target named by the enclave so one listener can serve an allowlist of endpoints:
 *
 *   enclave → parent:  "EKT1 CONNECT <host>:<port>\n"
 *   parent → enclave:  "EKT1 OK\n"  |  "EKT1 ERR <ERR_CODE>\n"
 *
 * After OK the stream carries the enclave's TLS bytes verbatim. The parent never sees anything
 * but this line and ciphertext. Pure: parsing is byte-fed, with a bounded line length.
 */
import { InputError, ProtocolError, isErrorCode, type ErrorCode } from '../errors.js';

const MAGIC = 'EKT1';
/** Longest handshake line: "EKT1 CONNECT " + a 253-char DNS name or bracketed IPv6 + ":65535\n". */
export const TUNNEL_LINE_MAX_BYTES = 300;

export interface TunnelTarget {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

/** Parses "host:port" (IPv6 in brackets) into a target; throws ERR_BAD_REQUEST when invalid. */
export function parseTarget(text: string): TunnelTarget {
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (colon <= 0 || !(port >= 1 && port <= 65535) || !(HOSTNAME.test(host) || IPV6_BRACKETED.test(host))) {
    throw new InputError('ERR_BAD_REQUEST', 'tunnel target must be host:port');
  }
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port };
}

export function formatTarget({ host, port }: TunnelTarget): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function encodeTunnelRequest(target: TunnelTarget): Buffer {
  return Buffer.from(`${MAGIC} CONNECT ${formatTarget(target)}\n`, 'latin1');
}

export function encodeTunnelReply(error?: ErrorCode): Buffer {
  return Buffer.from(error === undefined ? `${MAGIC} OK\n` : `${MAGIC} ERR ${error}\n`, 'latin1');
}

/**
 * Accumulates bytes until the handshake line is complete. `push` returns undefined while more
 * bytes are needed, or the line and whatever followed it (which belongs to the tunnel payload).
 */
export class HandshakeLineReader {
  #buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { line: string; rest: Buffer } | undefined {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const end = this.#buffered.indexOf(0x0a);
    if (end < 0) {
      if (this.#buffered.length > TUNNEL_LINE_MAX_BYTES) {
        throw new ProtocolError('ERR_FRAME_TOO_LARGE', 'tunnel handshake line too long');
      }
      return undefined;
    }
    if (end > TUNNEL_LINE_MAX_BYTES) throw new ProtocolError('ERR_FRAME_TOO_LARGE', 'tunnel handshake line too long');
    const line = this.#buffered.subarray(0, end).toString('latin1');
    const rest = this.#buffered.subarray(end + 1);
    this.#buffered = Buffer.alloc(0);
    return { line, rest };
  }
}

export function parseTunnelRequestLine(line: string): TunnelTarget {
  const prefix = `${MAGIC} CONNECT `;
  if (!line.startsWith(prefix)) throw new ProtocolError('ERR_FRAME_MALFORMED', 'not a tunnel request');
  return parseTarget(line.slice(prefix.length));
}

/** Returns undefined for OK, or the error code the parent refused with. */
export function parseTunnelReplyLine(line: string): ErrorCode | undefined {
  if (line === `${MAGIC} OK`) return undefined;
  const code = line.startsWith(`${MAGIC} ERR `) ? line.slice(`${MAGIC} ERR `.length) : '';
  if (isErrorCode(code)) return code;
  throw new ProtocolError('ERR_FRAME_MALFORMED', 'not a tunnel reply');
}
