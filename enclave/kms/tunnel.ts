/**
 * The enclave's end of a KMS tunnel: open a byte stream to the parent's proxy, name the target,
 * wait for OK, then run TLS over it. TLS (and so the server's certificate check and SigV4) ends
 * here, inside the enclave: the parent relays ciphertext it cannot read or forge.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { EnclaveKitError, ProtocolError, ServiceError } from '../../shared/errors.js';
import {
  HandshakeLineReader,
  encodeTunnelRequest,
  parseTunnelReplyLine,
  type TunnelTarget,
} from '../../shared/tunnel/handshake.js';

export type OpenProxyStream = () => Promise<Duplex>;

/** Opens a tunnel to `target` through the parent's proxy; resolves once the parent said OK. */
export async function openTunnel(openStream: OpenProxyStream, target: TunnelTarget, timeoutMs = 10_000): Promise<Duplex> {
  let stream: Duplex;
  try {
    stream = await openStream();
  } catch (error) {
    throw new ServiceError('ERR_KMS_UNAVAILABLE', 'cannot reach the parent proxy', { cause: error });
  }
  return new Promise<Duplex>((resolve, reject) => {
    const reader = new HandshakeLineReader();
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error !== undefined) {
        stream.destroy();
        reject(error);
      } else resolve(stream);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const parsed = reader.push(chunk);
        if (parsed === undefined) return;
        const refused = parseTunnelReplyLine(parsed.line);
        if (refused !== undefined) {
          finish(new ServiceError('ERR_KMS_UNAVAILABLE', `parent proxy refused the tunnel (${refused})`));
          return;
        }
        stream.pause();
        if (parsed.rest.length > 0) stream.unshift(parsed.rest);
        finish(undefined);
      } catch (error) {
        finish(error instanceof EnclaveKitError ? error : new ProtocolError('ERR_FRAME_MALFORMED', 'bad tunnel reply'));
      }
    };
    const onError = (error: Error): void => finish(new ServiceError('ERR_KMS_UNAVAILABLE', 'tunnel failed', { cause: error }));
    const onClose = (): void => finish(new ServiceError('ERR_KMS_UNAVAILABLE', 'parent proxy closed the tunnel'));
    const timer = setTimeout(() => finish(new ServiceError('ERR_KMS_UNAVAILABLE', 'tunnel handshake timed out')), timeoutMs);
    stream.on('data', onData);
    stream.once('error', onError);
    stream.once('close', onClose);
    stream.write(encodeTunnelRequest(target));
  });
}

export interface TunnelAgentOptions extends https.AgentOptions {
  openStream: OpenProxyStream;
  tunnelTimeoutMs?: number;
}

/**
 * An https.Agent whose connections are TLS sessions over parent tunnels. Hand it to the AWS SDK
 * (NodeHttpHandler's httpsAgent); keep-alive reuses tunnels like ordinary sockets.
 */
export class TunnelAgent extends https.Agent {
  readonly #openStream: OpenProxyStream;
  readonly #timeoutMs: number;

  constructor({ openStream, tunnelTimeoutMs, ...agentOptions }: TunnelAgentOptions) {
    super({ keepAlive: true, maxSockets: 16, ...agentOptions });
    this.#openStream = openStream;
    this.#timeoutMs = tunnelTimeoutMs ?? 10_000;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    openTunnel(this.#openStream, { host, port }, this.#timeoutMs).then(
      (raw) => {
        const { ca, servername, rejectUnauthorized, ALPNProtocols, minVersion } = options as tls.ConnectionOptions;
        const secure = tls.connect({
          socket: raw,
          // SNI never carries an IP literal (RFC 6066 §3).
          ...(servername !== undefined ? { servername } : isIpLiteral(host) ? {} : { servername: host }),
          ...(ca !== undefined ? { ca } : {}),
          rejectUnauthorized: rejectUnauthorized ?? true,
          minVersion: minVersion ?? 'TLSv1.2',
          ...(ALPNProtocols !== undefined ? { ALPNProtocols } : {}),
        });
        callback?.(null, secure);
      },
      (error: unknown) => callback?.(error instanceof Error ? error : new Error(String(error)), undefined as never),
    );
    return undefined;
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
