/**
 * GET /metrics: the Prometheus scrape endpoint (text exposition format 0.0.4).
 *
 * Open by default, like /healthz: Prometheus scrapes without the API's bearer tokens, and handing
 * a scraper an API token would let it tokenize cards. What it exposes is safe to read: label
 * values come from closed or capped sets (parent/metrics.ts), never from request data, and the
 * API server binds 127.0.0.1 unless configured otherwise (parent/config.ts `http.host`), so a
 * scraper runs on the host or through an operator-chosen path. Deployments that expose the port
 * wider can pass `{ auth: true }` and give the scraper its own token (Prometheus
 * `authorization.credentials_file`).
 */
import type { ParentMetrics } from '../../metrics.js';
import type { Route, RouteResult } from '../server.js';

/**
 * A route result that is raw text in a given media type rather than JSON. parent/http/server.ts
 * must write `body` as is with this content type when `contentType` is set; until it does, the
 * text arrives JSON-encoded, which Prometheus cannot parse.
 */
export interface TextRouteResult extends RouteResult {
  body: string;
  contentType: string;
}

export function metricsRoutes(metrics: ParentMetrics, options: { auth?: boolean } = {}): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      auth: options.auth ?? false,
      handle: async (): Promise<TextRouteResult> => ({ body: await metrics.render(), contentType: metrics.contentType }),
    },
  ];
}
