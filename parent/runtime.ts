/**
 * The parent process: HTTP API for services, links to the enclaves, the allowlisted KMS tunnel
 * proxy, and credentials for the enclaves. It relays bytes it cannot read: it never calls KMS for
 * an enclave and never sees plaintext (docs/security.md).
 */
import type { Duplex } from 'node:stream';
import type { Server } from 'node:http';
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
import { clockOffsetMs } from './enclave-link.js';
import { ParentMetrics, type EnclaveStats } from './metrics.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { LogGuard } from '../shared/log/redaction-guard.js';

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
  metrics: ParentMetrics;
  pool: EnclavePool;
  proxy: TunnelProxy;
  logger: Logger;
  close(): Promise<void>;
}

export async function startParent(deps: ParentDeps): Promise<RunningParent> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger({ file: config.logFile });
  const credentials = createCredentialProvider(config.credentials);

  const metrics = new ParentMetrics({ routes: [] });
  const logGuard = new LogGuard({ onDrop: (dropped) => metrics.recordDroppedLogFields(dropped.map((d) => d.reason)) });
  const proxy = new TunnelProxy({
    allowlist: proxyAllowlistOf(config),
    onEvent: (e) => logger.info(`tunnel-${e.type}`, { ...e, type: undefined }),
  });
  const proxyListener = await deps.listenStreams(config.proxy.listen, (stream) => proxy.handle(stream));

  const handlers: Record<string, RpcHandler> = {
    credentials: async () => credentials(),
    log: async (body) => {
      // Structured events from the enclave: the only way its logs leave a real enclave. Every
      // field passes the redaction guard (no PAN-like digit runs, no key material).
      const raw = typeof body === 'object' && body !== null ? (body as { event?: unknown; fields?: unknown }) : {};
      const fields = typeof raw.fields === 'object' && raw.fields !== null ? (raw.fields as Record<string, unknown>) : {};
      const { fields: safe } = logGuard.guard({ event: raw.event, ...fields });
      logger.info('enclave-event', { ...safe, event: typeof safe.event === 'string' ? safe.event : 'unknown' });
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
        onEvent: (e) => {
          logger.info(`enclave-${e.type}`, { enclave: url, reason: e.reason });
          const status = links.find((l) => l.url === url)?.status();
          metrics.setEnclaveState(url, { up: status?.connected ?? e.type !== 'disconnected', ready: status?.ready ?? e.type === 'ready' });
        },
        onStatus: (reply, sentAt, receivedAt) => {
          const stats = (typeof reply.stats === 'object' && reply.stats !== null ? reply.stats : {}) as EnclaveStats;
          const parentOffset = clockOffsetMs(reply, sentAt, receivedAt);
          metrics.ingestEnclaveStats(url, { ...stats, clockOffsetMs: { ...stats.clockOffsetMs, ...(parentOffset === undefined ? {} : { parent: parentOffset }) } });
        },
        maxClockOffsetMs: config.maxClockOffsetMs,
        url,
      }),
  );
  const pool = new EnclavePool(links);
  pool.start();

  const routes = [...systemRoutes(pool), ...metricsRoutes(metrics), ...(deps.extraRoutes?.(pool) ?? [])];
  const server: Server = createApiServer({
    routes,
    apiTokens: config.apiTokens,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    onRequest: (route, status, durationMs, code) => metrics.observeRequest(route, status, durationMs, code),
  });
  metrics.addRoutes(routes.map((r) => r.path));
  metrics.trackTunnel(proxy);
  const { url } = await listen(server, config.http.host, config.http.port);
  logger.info('parent-listening', { url, enclaves: config.enclaves.length });

  return {
    url,
    metrics,
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
