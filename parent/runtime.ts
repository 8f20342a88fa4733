/**
 * The parent process: HTTP API for services, links to the enclaves, the allowlisted KMS tunnel
 * proxy, and credentials for the enclaves. It relays bytes it cannot read: it never calls KMS for
 * an enclave and never sees plaintext (docs/security.md).
 */
import type { Duplex } from 'node:stream';
import type { Server } from 'node:http';
import { EnclaveKitError } from '../shared/errors.js';
import type { FrameChannel } from '../shared/protocol/channel.js';
import type { RpcHandler } from '../shared/protocol/rpc.js';
import { type ParentConfig, proxyAllowlistOf } from './config.js';
import { createCredentialProvider } from './credentials.js';
import { EnclaveLink } from './enclave-link.js';
import { EnclavePool } from './enclave-pool.js';
import { systemRoutes } from './http/routes/system.js';
import { createApiServer, listen, type Route } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { TunnelProxy } from './tunnel-proxy.js';

export interface ParentDeps {
  config: Readonly<ParentConfig>;
  connectChannel: (url: string) => Promise<FrameChannel>;
  listenStreams: (url: string, onStream: (stream: Duplex) => void) => Promise<{ close(): Promise<void> | void }>;
  /** Routes beyond health, readiness and attestation (the card and PII API). */
  extraRoutes?: (gateway: EnclavePool) => Route[];
  logger?: Logger;
}

export interface RunningParent {
  url: string;
  pool: EnclavePool;
  proxy: TunnelProxy;
  logger: Logger;
  close(): Promise<void>;
}

export async function startParent(deps: ParentDeps): Promise<RunningParent> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger({ file: config.logFile });
  const credentials = createCredentialProvider(config.credentials);

  const proxy = new TunnelProxy({
    allowlist: proxyAllowlistOf(config),
    onEvent: (e) => logger.info(`tunnel-${e.type}`, { ...e, type: undefined }),
  });
  const proxyListener = await deps.listenStreams(config.proxy.listen, (stream) => proxy.handle(stream));

  const handlers: Record<string, RpcHandler> = {
    credentials: async () => credentials(),
    log: async (body) => {
      // Enclave log events (issue: operations). Only whitelisted scalar fields are written.
      const event = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      logger.info('enclave', { event: typeof event.event === 'string' ? event.event.slice(0, 64) : 'unknown' });
      return {};
    },
  };
  const wrappedKeys = Object.fromEntries(
    Object.entries(config.wrappedKeys).map(([name, k]) => [
      name,
      { ciphertextBlob: Buffer.from(k.ciphertextBlob, 'base64'), keyId: k.keyId, ...(k.encryptionContext ? { encryptionContext: k.encryptionContext } : {}) },
    ]),
  );
  const links = config.enclaves.map(
    (url) =>
      new EnclaveLink({
        connect: () => deps.connectChannel(url),
        handlers,
        onConnected: async (peer) => {
          if (Object.keys(wrappedKeys).length > 0) await peer.request('keys.load', { keys: wrappedKeys }, { deadlineMs: 60_000 });
        },
        onEvent: (e) => logger.info(`enclave-${e.type}`, { enclave: url, reason: e.reason }),
      }),
  );
  const pool = new EnclavePool(links);
  pool.start();

  const server: Server = createApiServer({
    routes: [...systemRoutes(pool), ...(deps.extraRoutes?.(pool) ?? [])],
    apiTokens: config.apiTokens,
    logger,
  });
  const { url } = await listen(server, config.http.host, config.http.port);
  logger.info('parent-listening', { url, enclaves: config.enclaves.length });

  return {
    url,
    pool,
    proxy,
    logger,
    async close() {
      pool.stop();
      proxy.closeAll();
      await proxyListener.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await logger.close();
    },
  };
}

export function describeError(error: unknown): string {
  return error instanceof EnclaveKitError ? `${error.code}: ${error.message}` : 'internal error';
}
