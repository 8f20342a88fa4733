/**
 * The parent's Prometheus metrics ("Operations"), on a dedicated prom-client Registry:
 * the global one would mix in whatever else the process loads, and tests need a fresh set.
 *
 * Every label value comes from a closed or capped set, so the number of series is bounded
 * whatever clients send (Prometheus "Instrumentation" practices: avoid unbounded labels):
 * - route: one of the routes given at construction, else 'other' (404s carry any path);
 * - status_class: '1xx'..'5xx', else 'other';
 * - code: an ERR_ code from shared/errors.ts, 'none' for success, ERR_INTERNAL for anything else
 *   (as errorFromWire maps unknown codes);
 * - enclave: the enclave's URL without user info, query or fragment, for the first `maxEnclaves`
 *   distinct URLs, then 'other';
 * - operation (KMS): the KMS operations the enclave calls, else 'other';
 * - reason: the log guard's DropReason union.
 * Units are Prometheus base units (seconds, bytes); callers pass milliseconds where they have them.
 *
 * Enclave counters arrive as totals since the enclave started (ingestEnclaveStats); the parent
 * adds the difference from the last report, and a total that went down means the enclave
 * restarted, so the new total is all new (the same reset rule Prometheus's rate() applies).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isErrorCode } from '../shared/errors.js';
import { DROP_REASONS, type DropReason } from '../shared/log/redaction-guard.js';

export const METRIC_PREFIX = 'enclavekit_';
/** Request latency buckets, seconds: 1 ms (a cached tokenize) to 30 s (the server's request timeout). */
export const LATENCY_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** What AttestedKms calls (enclave/kms/attested-kms.ts) plus the data-key variant policies allow. */
export const KMS_OPERATIONS: readonly string[] = ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom'];
const OTHER = 'other';
const MAX_TRACKED_TOTALS = 1024;

export interface ParentMetricsOptions {
  /** Paths that get their own route label (the API server's routes); any other path is 'other'. */
  routes: Iterable<string>;
  /** Distinct enclave labels before 'other'; default 8 (up to 4 enclaves per host, plus replacements). */
  maxEnclaves?: number;
  /** Also export Node process metrics (CPU, heap, event-loop lag, fds); default false. */
  processMetrics?: boolean;
  /** The clock gate's thresholds (parent/clock-gate.ts), exported so alerts compare against them. */
  clockLimitsMs?: { warnMs: number; maxMs: number };
}

/** What an enclave reports about itself; counters are totals since the enclave started. */
export interface EnclaveStats {
  kms?: Readonly<Record<string, { readonly calls?: number; readonly errors?: number }>>;
  dataKeyCache?: { readonly hits?: number; readonly misses?: number };
  /** Enclave clock minus the parent's clock, and minus its latest attestation timestamp, ms. */
  clockOffsetMs?: { readonly parent?: number; readonly attestation?: number };
}

/** Anything with the TunnelProxy's running byte totals (parent/tunnel-proxy.ts). */
export interface ByteTotals {
  readonly bytesUp: number;
  readonly bytesDown: number;
}

export class ParentMetrics {
  readonly registry = new Registry();
  readonly #routes: Set<string>;
  readonly #maxEnclaves: number;
  readonly #enclaveLabels = new Map<string, string>();
  /** Last reported total per series, for the reset rule. */
  readonly #totals = new Map<string, number>();
  #tunnel: ByteTotals | undefined;

  readonly #requests: Counter<'route' | 'status_class' | 'code'>;
  readonly #latency: Histogram<'route' | 'status_class'>;
  readonly #up: Gauge<'enclave'>;
  readonly #ready: Gauge<'enclave'>;
  readonly #kmsCalls: Counter<'enclave' | 'operation'>;
  readonly #kmsErrors: Counter<'enclave' | 'operation'>;
  readonly #cacheHits: Counter<'enclave'>;
  readonly #cacheMisses: Counter<'enclave'>;
  readonly #clockOffset: Gauge<'enclave' | 'reference'>;
  readonly #logDropped: Counter<'reason'>;

  /** Routes registered after construction (the server's route table is built once metrics exist). */
  addRoutes(paths: Iterable<string>): void {
    for (const path of paths) this.#routes.add(path);
  }

  constructor(options: ParentMetricsOptions) {
    this.#routes = new Set(options.routes);
    this.#maxEnclaves = options.maxEnclaves ?? 8;
    const registers = [this.registry];
    const name = (n: string): string => METRIC_PREFIX + n;
    this.#requests = new Counter({ name: name('http_requests_total'), help: 'HTTP requests by route and outcome.', labelNames: ['route', 'status_class', 'code'], registers });
    this.#latency = new Histogram({
      name: name('http_request_duration_seconds'),
      help: 'HTTP request latency by route and status class.',
      labelNames: ['route', 'status_class'],
      buckets: [...LATENCY_BUCKETS_S],
      registers,
    });
    this.#up = new Gauge({ name: name('enclave_up'), help: '1 while the link to the enclave is open.', labelNames: ['enclave'], registers });
    this.#ready = new Gauge({ name: name('enclave_ready'), help: '1 while the enclave reports itself ready.', labelNames: ['enclave'], registers });
    this.#kmsCalls = new Counter({ name: name('kms_calls_total'), help: 'KMS calls made by the enclave, by operation.', labelNames: ['enclave', 'operation'], registers });
    this.#kmsErrors = new Counter({ name: name('kms_errors_total'), help: 'Failed KMS calls made by the enclave, by operation.', labelNames: ['enclave', 'operation'], registers });
    this.#cacheHits = new Counter({ name: name('data_key_cache_hits_total'), help: 'In-enclave data-key cache hits.', labelNames: ['enclave'], registers });
    this.#cacheMisses = new Counter({ name: name('data_key_cache_misses_total'), help: 'In-enclave data-key cache misses.', labelNames: ['enclave'], registers });
    this.#clockOffset = new Gauge({
      name: name('clock_offset_seconds'),
      help: 'Enclave clock minus the reference clock (parent, or the latest attestation timestamp).',
      labelNames: ['enclave', 'reference'],
      registers,
    });
    if (options.clockLimitsMs !== undefined) {
      const limits = new Gauge({
        name: name('clock_offset_limit_seconds'),
        help: 'Clock offset thresholds: warn (logged) and unready (readiness refused; SigV4 allows 300 s).',
        labelNames: ['level'],
        registers,
      });
      limits.set({ level: 'warn' }, options.clockLimitsMs.warnMs / 1000);
      limits.set({ level: 'unready' }, options.clockLimitsMs.maxMs / 1000);
    }
    this.#logDropped = new Counter({ name: name('log_fields_dropped_total'), help: 'Log fields refused by the redaction guard, by reason.', labelNames: ['reason'], registers });
    for (const reason of DROP_REASONS) this.#logDropped.inc({ reason }, 0);
    const tunnelBytes: Counter<'direction'> = new Counter({
      name: name('tunnel_bytes_total'),
      help: 'Bytes relayed by the KMS tunnel proxy (up: enclave to KMS).',
      labelNames: ['direction'],
      registers,
      // Read at scrape time: the proxy keeps running totals and knows nothing of metrics.
      collect: () => {
        if (this.#tunnel === undefined) return;
        tunnelBytes.inc({ direction: 'up' }, this.#delta('tunnel|up', this.#tunnel.bytesUp));
        tunnelBytes.inc({ direction: 'down' }, this.#delta('tunnel|down', this.#tunnel.bytesDown));
      },
    });
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** One finished HTTP request; the API server's `onRequest` hook has this signature. */
  observeRequest(route: string, status: number, durationMs: number, code?: string): void {
    const labels = { route: this.#routes.has(route) ? route : OTHER, status_class: statusClass(status) };
    this.#requests.inc({ ...labels, code: code === undefined ? 'none' : isErrorCode(code) ? code : 'ERR_INTERNAL' });
    if (Number.isFinite(durationMs) && durationMs >= 0) this.#latency.observe(labels, durationMs / 1000);
  }

  setEnclaveState(url: string, state: { up: boolean; ready: boolean }): void {
    const enclave = this.#enclaveLabel(url);
    this.#up.set({ enclave }, state.up ? 1 : 0);
    this.#ready.set({ enclave }, state.ready ? 1 : 0);
    // A clock offset from a link that is gone would read as current.
    if (!state.up) for (const reference of ['parent', 'attestation']) this.#clockOffset.remove({ enclave, reference });
  }

  /**
   * Takes an enclave's self-report. It crosses the link, so every figure is checked: anything
   * that is not a finite non-negative count (or finite offset) is ignored, never thrown.
   */
  ingestEnclaveStats(url: string, stats: EnclaveStats): void {
    const enclave = this.#enclaveLabel(url);
    // Totals are tracked per enclave URL and operation name, even where labels merge into 'other'.
    const source = sanitizeUrl(url);
    if (isRecord(stats.kms)) {
      for (const [op, counts] of Object.entries(stats.kms)) {
        if (!isRecord(counts)) continue;
        const operation = KMS_OPERATIONS.includes(op) ? op : OTHER;
        const key = `${source}|${op.slice(0, 64)}`;
        if (isCount(counts.calls)) this.#kmsCalls.inc({ enclave, operation }, this.#delta(`kms-calls|${key}`, counts.calls));
        if (isCount(counts.errors)) this.#kmsErrors.inc({ enclave, operation }, this.#delta(`kms-errors|${key}`, counts.errors));
      }
    }
    const cache = stats.dataKeyCache;
    if (isRecord(cache)) {
      if (isCount(cache.hits)) this.#cacheHits.inc({ enclave }, this.#delta(`cache-hits|${source}`, cache.hits));
      if (isCount(cache.misses)) this.#cacheMisses.inc({ enclave }, this.#delta(`cache-misses|${source}`, cache.misses));
    }
    const clock = stats.clockOffsetMs;
    if (isRecord(clock)) {
      for (const reference of ['parent', 'attestation'] as const) {
        const ms = clock[reference];
        if (typeof ms === 'number' && Number.isFinite(ms)) this.#clockOffset.set({ enclave, reference }, ms / 1000);
      }
    }
  }

  /** Counts fields the log guard dropped: pass `dropped.map((d) => d.reason)`. */
  recordDroppedLogFields(reasons: Iterable<DropReason>): void {
    for (const reason of reasons) if (DROP_REASONS.includes(reason)) this.#logDropped.inc({ reason });
  }

  /** Reports the tunnel proxy's byte totals at every scrape (one proxy per parent). */
  trackTunnel(totals: ByteTotals): void {
    this.#tunnel = totals;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #delta(series: string, total: number): number {
    const last = this.#totals.get(series);
    // Reported names are the enclave's to choose: cap what we remember (8 enclaves × a few dozen series fit).
    if (last === undefined && this.#totals.size >= MAX_TRACKED_TOTALS) return 0;
    this.#totals.set(series, total);
    return last === undefined || total < last ? total : total - last;
  }

  #enclaveLabel(url: string): string {
    const label = sanitizeUrl(url);
    const known = this.#enclaveLabels.get(label);
    if (known !== undefined) return known;
    if (this.#enclaveLabels.size >= this.#maxEnclaves) return OTHER;
    this.#enclaveLabels.set(label, label);
    return label;
  }
}

export function statusClass(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : OTHER;
}

/** The URL without user info, query or fragment (a ws:// URL could carry a token), at most 128 chars. */
export function sanitizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'invalid';
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`.slice(0, 128);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
