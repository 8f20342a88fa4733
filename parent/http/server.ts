/**
 * The parent's HTTP API for the company's services. Routing, bearer auth on /v1/*, body limits,
 * request ids, typed JSON errors and one access-log line per request (method, path without query,
 * status, duration, error code: never a body).
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnclaveKitError, InputError, toEnclaveKitError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import type { Logger } from '../log.js';
import { makeBearerCheck, requireScope, type ApiToken, type Grant } from './auth.js';
import { readJsonBody } from './body.js';

export interface RouteContext {
  requestId: string;
  query: URLSearchParams;
  /** Parsed JSON body (POST routes only). */
  body: unknown;
  signal: AbortSignal;
  /** The bearer token's scopes, on routes with `auth` (parent/http/auth.ts). */
  grant?: Grant;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** Send `body` (a string) as is with this type instead of JSON (e.g. Prometheus text). */
  contentType?: string;
}

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Open routes (health probes) skip the bearer check; every /v1/* route must require it. */
  auth: boolean;
  /**
   * The scope the token needs (parent/http/auth.ts), checked before the body is read, so a caller
   * without it gets 403 and learns nothing of the body's rules or limits. A family ending in `:`
   * (`cards:detokenize:`) asks for any scope of it; the handler then checks the one the body names.
   */
  scope?: string;
  /** Body limit for this route, bytes; defaults to the server's `maxBodyBytes`. */
  maxBodyBytes?: number;
  handle(ctx: RouteContext): Promise<RouteResult>;
}

export interface ApiServerOptions {
  routes: readonly Route[];
  apiTokens: readonly ApiToken[];
  logger: Logger;
  /** Body limit of routes that set none, bytes (the parent config's `maxBodyBytes`); default LIMITS.httpBodyMaxBytes. */
  maxBodyBytes?: number;
  /** Called once per request with its outcome (metrics). */
  onRequest?: (route: string, status: number, durationMs: number, code: string | undefined) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function createApiServer(options: ApiServerOptions): http.Server {
  const checkToken = makeBearerCheck(options.apiTokens);
  const serverMaxBodyBytes = options.maxBodyBytes ?? LIMITS.httpBodyMaxBytes;
  const byPath = new Map<string, Route[]>();
  for (const route of options.routes) {
    if (route.path.startsWith('/v1/') && !route.auth) throw new Error(`route ${route.path} must require auth`);
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  }

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    // handle() answers every failure itself; should it ever throw regardless (a logging or
    // metrics hook), the request is dropped, rather than the rejection ending the process.
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  // Requests Node's HTTP parser cannot read (a bad request line, oversized headers) never reach
  // `handle`; answer them in the same typed JSON shape instead of Node's bare 400.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage !== undefined) {
      socket.destroy();
      return;
    }
    // Oversized headers have their own status, 431 (RFC 6585 §5), and so their own code.
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new InputError('ERR_HEADERS_TOO_LARGE', `request headers exceed ${http.maxHeaderSize} bytes`)
        : new InputError('ERR_BAD_REQUEST', 'malformed HTTP request');
    const body = JSON.stringify(refusal.toJSON());
    const reason = refusal.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${refusal.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    options.onRequest?.('(malformed request)', refusal.status, 0, refusal.code);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const supplied = req.headers['x-request-id'];
    const requestId = typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = requestUrl(req.url);
    // Only known route paths reach logs and metrics: an unknown path is caller text (it could hold
    // a card number) and is logged as '(unmatched)'.
    const pathname = url === null ? '(invalid request target)' : byPath.has(url.pathname) ? url.pathname : '(unmatched)';
    const abort = new AbortController();
    // Only a client that left before its answer cancels the work; after a normal answer there is
    // nothing to cancel, and an abort costs a DOMException per request (bench tokenize profile).
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let status = 500;
    let code: string | undefined;
    try {
      if (url === null) throw new InputError('ERR_BAD_REQUEST', 'request target is not a path');
      const candidates = byPath.get(url.pathname);
      if (candidates === undefined) throw new InputError('ERR_NOT_FOUND', 'no such path');
      const route = candidates.find((r) => r.method === req.method);
      if (route === undefined) {
        res.setHeader('allow', candidates.map((r) => r.method).join(', '));
        throw new InputError('ERR_METHOD_NOT_ALLOWED', `${url.pathname} does not accept ${req.method ?? ''}`);
      }
      const grant = route.auth ? checkToken(req.headers) : undefined;
      if (route.scope !== undefined) requireScope(grant, route.scope);
      const body = req.method === 'POST' ? await readJsonBody(req, route.maxBodyBytes ?? serverMaxBodyBytes) : undefined;
      const result = await route.handle({ requestId, query: url.searchParams, body, signal: abort.signal, ...(grant === undefined ? {} : { grant }) });
      status = result.status ?? 200;
      send(res, status, result.body, result.contentType);
    } catch (error) {
      const typed = toEnclaveKitError(error);
      status = typed.status;
      code = typed.code;
      if (!(error instanceof EnclaveKitError)) {
        options.logger.error('unexpected error', { requestId, errorName: error instanceof Error ? error.name : typeof error });
      }
      send(res, status, typed.toJSON());
    } finally {
      const durationMs = Math.round((performance.now() - started) * 100) / 100;
      options.onRequest?.(pathname, status, durationMs, code);
      options.logger.info('request', { requestId, method: req.method, path: pathname, status, durationMs, code });
    }
  }

  return server;
}

const ORIGIN = 'http://parent.invalid';

/**
 * The request target as a URL on a fixed origin, or null when it is not one we serve. The
 * origin-form (RFC 9112 §3.2.1, a path and query) is read as a path even when it starts with
 * '//': `new URL('//x/y', base)` takes 'x' for a host (the request then routed as '/y'), and for
 * '//%zz' it threw, outside any handler: one unauthenticated request ended the parent (an
 * unhandled rejection). Found by test/fuzz/http-endpoints.test.ts. The absolute-form (§3.2.2)
 * is reduced to its path and query; authority- and asterisk-forms are not for this server.
 */
function requestUrl(target: string | undefined): URL | null {
  try {
    if (target === undefined || target === '') return new URL(`${ORIGIN}/`);
    if (target.startsWith('/')) return new URL(ORIGIN + target);
    if (/^https?:\/\//i.test(target)) {
      const absolute = new URL(target);
      return new URL(ORIGIN + absolute.pathname + absolute.search);
    }
  } catch {
    // Not a URL at all: refused below as a bad request.
  }
  return null;
}

function send(res: ServerResponse, status: number, body: unknown, contentType?: string): void {
  if (res.headersSent || res.destroyed) return;
  const raw = contentType !== undefined && typeof body === 'string';
  const text = raw ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': raw ? contentType : 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export async function listen(server: http.Server, host: string, port: number): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${hostPart}:${address.port}`, port: address.port };
}
