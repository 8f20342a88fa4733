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
import { createLogger, type Logger, type LogLevel } from './log.js';
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
  /**
   * A listener the parent cannot serve without failed after start (the HTTP server's socket). The
   * process must then exit: a parent without its API is an outage a supervisor has to see.
   */
  onFatal?: (error: Error, what: string) => void;
}

export interface RunningParent {
  url: string;
  metrics: ParentMetrics;
  pool: EnclavePool;
  proxy: TunnelProxy;
  logger: Logger;
  /**
   * Moves to this list of enclaves without a restart: new ones are linked at once; removed ones
   * keep serving until one of the listed enclaves is ready, then are drained (no new calls, calls
   * in flight answered) and closed. When no listed enclave becomes ready within `readyTimeoutMs`
   * the old ones stay (an update must never leave the API without an enclave).
   */
  setEnclaves(urls: readonly string[], options?: { readyTimeoutMs?: number; drainTimeoutMs?: number }): Promise<{ added: string[]; drained: string[]; kept: string[] }>;
  close(): Promise<void>;
}

export async function startParent(deps: ParentDeps): Promise<RunningParent> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger({ file: config.logFile });
  const credentials = createCredentialProvider(config.credentials);

  const metrics = new ParentMetrics({ routes: [], clockLimitsMs: { warnMs: config.clockWarnOffsetMs, maxMs: config.maxClockOffsetMs } });
  const logGuard = new LogGuard({ onDrop: (dropped) => metrics.recordDroppedLogFields(dropped.map((d) => d.reason)) });
  const proxy = new TunnelProxy({
    allowlist: proxyAllowlistOf(config),
    onEvent: (e) => logger.info(`tunnel-${e.type}`, { ...e, type: undefined }),
  });
  // Whatever is open when a later step fails is closed again, so a failed start leaves no handle
  // that keeps a half-started process alive.
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  };
  try {
    const proxyListener = await deps.listenStreams(config.proxy.listen, (stream) => proxy.handle(stream));
    cleanups.push(() => proxy.closeAll(), () => proxyListener.close());

    const handlers: Record<string, RpcHandler> = {
      credentials: async () => credentials(),
      log: async (body) => {
        // Structured events from the enclave: the only way its logs leave a real enclave. Every
        // field passes the redaction guard (no PAN-like digit runs, no key material).
        const raw = typeof body === 'object' && body !== null ? (body as { event?: unknown; fields?: unknown; level?: unknown }) : {};
        const fields = typeof raw.fields === 'object' && raw.fields !== null ? (raw.fields as Record<string, unknown>) : {};
        const { fields: safe } = logGuard.guard({ event: raw.event, ...fields });
        const level: LogLevel = raw.level === 'error' || raw.level === 'warn' || raw.level === 'debug' ? raw.level : 'info';
        logger.log(level, 'enclave-event', { ...safe, event: typeof safe.event === 'string' ? safe.event : 'unknown' });
        return {};
      },
    };
    const wrappedKeys = Object.fromEntries(
      Object.entries(config.wrappedKeys).map(([name, k]) => [
        name,
        { ciphertextBlob: Buffer.from(k.ciphertextBlob, 'base64'), keyId: k.keyId, ...(k.encryptionContext ? { encryptionContext: k.encryptionContext } : {}) },
      ]),
    );
    const makeLink = (url: string): EnclaveLink => {
      const link: EnclaveLink = new EnclaveLink({
        connect: () => deps.connectChannel(url),
        handlers,
        onConnected: async (peer) => {
          if (Object.keys(wrappedKeys).length > 0) await peer.request('keys.load', { keys: wrappedKeys }, { deadlineMs: 60_000 });
        },
        onEvent: (e) => {
          logger.log(e.type === 'boot-failed' ? 'error' : 'info', `enclave-${e.type}`, { enclave: url, reason: e.reason });
          const status = link.status();
          metrics.setEnclaveState(url, { up: status.connected, ready: status.ready });
        },
        onStatus: (reply, sentAt, receivedAt) => {
          const stats = (typeof reply.stats === 'object' && reply.stats !== null ? reply.stats : {}) as EnclaveStats;
          const parentOffset = clockOffsetMs(reply, sentAt, receivedAt);
          metrics.ingestEnclaveStats(url, { ...stats, clockOffsetMs: { ...stats.clockOffsetMs, ...(parentOffset === undefined ? {} : { parent: parentOffset }) } });
        },
        screenReason: (text) => {
          const { fields } = logGuard.guard({ reason: text });
          return typeof fields.reason === 'string' ? fields.reason : undefined;
        },
        maxClockOffsetMs: config.maxClockOffsetMs,
        clockWarnOffsetMs: config.clockWarnOffsetMs,
        url,
      });
      return link;
    };
    const pool = new EnclavePool(config.enclaves.map(makeLink));
    pool.start();
    cleanups.push(() => pool.stop());

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
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    server.on('error', (error) => deps.onFatal?.(error, 'the HTTP API listener'));
    logger.info('parent-listening', { url, enclaves: config.enclaves.length });

    let update = Promise.resolve();
    const setEnclaves: RunningParent['setEnclaves'] = (urls, options = {}) => {
      // One update at a time: a second reload waits for the first to finish.
      const result = update.then(async () => {
        const current = pool.links;
        const added = urls.filter((u) => !current.some((l) => l.url === u));
        for (const u of added) pool.add(makeLink(u));
        const removed = pool.links.filter((l) => l.url === undefined || !urls.includes(l.url));
        if (removed.length === 0) return { added, drained: [], kept: [] };
        const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
        const replacementReady = (): boolean => pool.links.some((l) => l.url !== undefined && urls.includes(l.url) && l.status().ready);
        while (!replacementReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (!replacementReady()) {
          const kept = removed.map((l) => l.url ?? '');
          logger.error('enclave-update-stalled', { reason: 'no listed enclave became ready; the old ones keep serving', kept: kept.join(',') });
          return { added, drained: [], kept };
        }
        const drained: string[] = [];
        for (const link of removed) {
          const left = await pool.drain(link, { timeoutMs: options.drainTimeoutMs ?? 30_000 });
          logger.info('enclave-drained', { enclave: link.url, callsCut: left });
          drained.push(link.url ?? '');
        }
        return { added, drained, kept: [] };
      });
      update = result.then(() => undefined, () => undefined);
      return result;
    };

    return {
      url,
      metrics,
      pool,
      proxy,
      logger,
      setEnclaves,
      async close() {
        await cleanup();
        await logger.close();
      },
    };
  } catch (error) {
    await cleanup();
    await logger.close();
    throw error;
  }
}
