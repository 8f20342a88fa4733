/**
 * startJsonService: serves one simulated AWS JSON 1.1 service over HTTPS on its own port, with the
 * KMS simulator's CA and server certificate (DIR/kms/tls: clients trust one CA file for every
 * simulated service), the state's principals and their identity policies, and a discovery file
 * DIR/<name>.json {"endpoint", "region", "caFile"} written atomically.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { announceSimulator } from '../announce.js';
import { loadSimConfig } from '../state.js';
import { writeFileAtomic } from '../kms/atomic-file.js';
import { endpointHost, identityMap, kmsStateDir, loadKmsPrincipals, principalMap } from '../kms/server.js';
import type { KmsPrincipal } from '../kms/sigv4.js';
import { ensureTlsMaterial } from '../kms/tls.js';
import { handleJsonRequest, type JsonOperation } from './handler.js';

export interface JsonServiceOptions {
  /** The simulator state directory (`enclavekit sim init`). */
  stateDir: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** Plain HTTP instead of HTTPS. Default false. */
  http?: boolean;
  /** Default: the state's sim.json region. */
  region?: string;
  /** Default: DIR/credentials.json. */
  principals?: readonly KmsPrincipal[];
  /** Server clock, ms since the epoch (SigV4 skew, dates, deletion windows). Default Date.now. */
  now?: () => number;
  /** Write the discovery file. Default true. */
  writeDiscoveryFile?: boolean;
  /** Skip the start banner (tests). */
  silent?: boolean;
  onInternalError?: (error: unknown) => void;
}

export interface JsonServiceSpec {
  /** e.g. "SSM Parameter Store". */
  label: string;
  targetPrefix: string;
  signingName: string;
  /** Discovery file name without `.json`, e.g. `ssm`. */
  discoveryName: string;
  operations: Readonly<Record<string, JsonOperation>>;
  /** Runs after the server stopped and in-flight writes finished. */
  onClose?: () => Promise<void>;
}

export interface JsonService {
  endpoint: string;
  region: string;
  port: number;
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

export async function startJsonService(options: JsonServiceOptions, spec: JsonServiceSpec): Promise<JsonService> {
  const now = options.now ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? (await loadSimConfig(options.stateDir)).region;
  const byKey = principalMap(options.principals ?? (await loadKmsPrincipals(options.stateDir)));
  const identities = identityMap(byKey);
  const tls = options.http === true ? null : await ensureTlsMaterial(kmsStateDir(options.stateDir), host, now());
  const state = {
    label: spec.label,
    targetPrefix: spec.targetPrefix,
    signingName: spec.signingName,
    region,
    principals: byKey,
    identities,
    operations: spec.operations,
    now,
    onInternalError: options.onInternalError ?? ((error: unknown) => {
      process.stderr.write(`${spec.discoveryName} simulator: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    }),
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handleJsonRequest(req, res, state);
  };
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
    const discovery: ServiceDiscovery = { endpoint, region, caFile: tls?.caFile ?? null };
    await writeFileAtomic(discoveryPath(options.stateDir, spec.discoveryName), `${JSON.stringify(discovery, null, 2)}\n`, 0o644);
  }
  if (options.silent !== true) announceSimulator(spec.label, { details: [`endpoint ${endpoint}`, `state ${options.stateDir}`] });

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    region,
    port,
    caFile: tls?.caFile ?? null,
    caPem: tls?.caPem ?? null,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }).then(async () => {
        await spec.onClose?.();
      });
      return closed;
    },
  };
}
