/**
 * serveJsonService: the server skeleton every simulated AWS JSON 1.1 service shares (KMS,
 * Parameter Store, Secrets Manager): HTTPS with the state directory's one CA (clients trust one CA
 * file for every simulated service) or plain HTTP, its own port, the discovery file
 * DIR/<name>.json {"endpoint", "region", "caFile"} written atomically so other programs find it,
 * the start banner, and a close that ends open connections and then runs the service's own
 * clean-up. What a request means is the service's `handle`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { announceSimulator } from '../announce.js';
import { writeFileAtomic } from '../kms/atomic-file.js';
import { ensureTlsMaterial } from '../kms/tls.js';

export interface ServeOptions {
  /** The simulator state directory (`enclavekit sim init`); the discovery file goes there. */
  stateDir: string;
  /** TCP port; 0 (default) picks a free one (the endpoint then names it). */
  port?: number | undefined;
  /** Bind address; default 127.0.0.1. */
  host?: string | undefined;
  /** Plain HTTP instead of HTTPS. Default false. */
  http?: boolean | undefined;
  /** Server clock, ms since the epoch (the TLS certificate's validity). Default Date.now. */
  now?: (() => number) | undefined;
  /** Write the discovery file. Default true. */
  writeDiscoveryFile?: boolean | undefined;
  /** Skip the start banner (tests). Default false: a simulator announces itself loudly. */
  silent?: boolean | undefined;
}

export interface ServedService {
  /** The banner's name, e.g. "KMS", "SSM Parameter Store". */
  label: string;
  /** Discovery file name without `.json`, e.g. `kms`. */
  discoveryName: string;
  region: string;
  /** Where the CA and server certificate live (shared by every service of a state directory). */
  tlsDir: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Runs after the server stopped (in-flight writes to settle, key material to wipe). */
  afterClose?: (() => Promise<void>) | undefined;
}

export interface ServingJsonService {
  /** e.g. https://127.0.0.1:43127 */
  endpoint: string;
  port: number;
  /** The CA certificate file clients must trust (null with `http`). */
  caFile: string | null;
  caPem: string | null;
  close(): Promise<void>;
}

export interface ServiceDiscovery {
  endpoint: string;
  region: string;
  caFile: string | null;
}

export function discoveryPath(stateDir: string, name: string): string {
  return join(stateDir, `${name}.json`);
}

/** The host part of an endpoint URL for a bind address (a wildcard bind is reached on loopback). */
export function endpointHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function serveJsonService(options: ServeOptions, service: ServedService): Promise<ServingJsonService> {
  const now = options.now ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const tls = options.http === true ? null : await ensureTlsMaterial(service.tlsDir, host, now());
  const handler = (req: IncomingMessage, res: ServerResponse): void => service.handle(req, res);
  const server: Server = tls === null ? createHttpServer(handler) : createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `${tls === null ? 'http' : 'https'}://${endpointHost(host)}:${port}`;
  if (options.writeDiscoveryFile !== false) {
    const discovery: ServiceDiscovery = { endpoint, region: service.region, caFile: tls?.caFile ?? null };
    await writeFileAtomic(discoveryPath(options.stateDir, service.discoveryName), `${JSON.stringify(discovery, null, 2)}\n`, 0o644);
  }
  if (options.silent !== true) announceSimulator(service.label, { details: [`endpoint ${endpoint}`, `state ${options.stateDir}`] });

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port,
    caFile: tls?.caFile ?? null,
    caPem: tls?.caPem ?? null,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }).then(async () => {
        await service.afterClose?.();
      });
      return closed;
    },
  };
}
