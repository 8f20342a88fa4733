import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_ERROR_CODES } from '../../shared/errors.js';
import { DROP_REASONS } from '../../shared/log/redaction-guard.js';
import { KMS_OPERATIONS, ParentMetrics, sanitizeUrl, statusClass } from '../../parent/metrics.js';
import { parseExposition, valueOf } from './exposition.js';

const ROUTES = ['/healthz', '/readyz', '/metrics', '/v1/cards/tokenize'];
const E1 = 'vsock://16:5005';
const E2 = 'vsock://17:5005';

async function scrape(metrics: ParentMetrics) {
  return parseExposition(await metrics.render());
}

describe('ParentMetrics: requests', () => {
  it('counts requests and observes latency in seconds per route and outcome', async () => {
    const m = new ParentMetrics({ routes: ROUTES });
    m.observeRequest('/v1/cards/tokenize', 200, 4);
    m.observeRequest('/v1/cards/tokenize', 200, 40);
    m.observeRequest('/v1/cards/tokenize', 503, 2, 'ERR_ENCLAVE_UNAVAILABLE');
    const s = await scrape(m);
    const ok = { route: '/v1/cards/tokenize', status_class: '2xx' };
    expect(valueOf(s, 'enclavekit_http_requests_total', { ...ok, code: 'none' })).toBe(2);
    expect(
      valueOf(s, 'enclavekit_http_requests_total', { route: '/v1/cards/tokenize', status_class: '5xx', code: 'ERR_ENCLAVE_UNAVAILABLE' }),
    ).toBe(1);
    expect(valueOf(s, 'enclavekit_http_request_duration_seconds_count', ok)).toBe(2);
    expect(valueOf(s, 'enclavekit_http_request_duration_seconds_sum', ok)).toBeCloseTo(0.044, 9);
    expect(valueOf(s, 'enclavekit_http_request_duration_seconds_bucket', { ...ok, le: '0.005' })).toBe(1);
    expect(valueOf(s, 'enclavekit_http_request_duration_seconds_bucket', { ...ok, le: '0.05' })).toBe(2);
  });

  it('buckets unknown routes as other and unknown codes as ERR_INTERNAL', async () => {
    const m = new ParentMetrics({ routes: ROUTES });
    m.observeRequest('/wp-admin/4111111111111111', 404, 1, 'ERR_NOT_FOUND');
    m.observeRequest('/v1/cards/tokenize?x=1', 404, 1, 'ERR_NOT_FOUND');
    m.observeRequest('/healthz', 500, 1, 'ERR_SOMETHING_NEW');
    m.observeRequest('/healthz', 999, Number.NaN);
    const text = await m.render();
    expect(text).not.toContain('wp-admin');
    const s = parseExposition(text);
    expect(valueOf(s, 'enclavekit_http_requests_total', { route: 'other', code: 'ERR_NOT_FOUND' })).toBe(2);
    expect(valueOf(s, 'enclavekit_http_requests_total', { route: '/healthz', code: 'ERR_INTERNAL' })).toBe(1);
    expect(valueOf(s, 'enclavekit_http_requests_total', { route: '/healthz', status_class: 'other' })).toBe(1);
    // The NaN duration was counted but not observed.
    expect(valueOf(s, 'enclavekit_http_request_duration_seconds_count', { route: '/healthz', status_class: 'other' })).toBeUndefined();
  });

  it('keeps label cardinality bounded whatever the inputs (property)', async () => {
    const m = new ParentMetrics({ routes: ROUTES });
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...ROUTES), fc.string()),
        fc.integer({ min: -1, max: 1000 }),
        fc.option(fc.oneof(fc.constantFrom(...ALL_ERROR_CODES), fc.string()), { nil: undefined }),
        (route, status, code) => m.observeRequest(route, status, 1, code),
      ),
      { seed: 42, numRuns: 2000 },
    );
    const counts = (await scrape(m)).filter((x) => x.name === 'enclavekit_http_requests_total');
    const allowedRoutes = new Set([...ROUTES, 'other']);
    const allowedCodes = new Set<string>([...ALL_ERROR_CODES, 'none']);
    for (const { labels } of counts) {
      expect(allowedRoutes.has(labels.route!)).toBe(true);
      expect(allowedCodes.has(labels.code!)).toBe(true);
      expect(labels.status_class).toMatch(/^(?:[1-5]xx|other)$/);
    }
    expect(counts.length).toBeLessThanOrEqual(allowedRoutes.size * allowedCodes.size * 6);
  });
});

describe('ParentMetrics: enclaves', () => {
  it('sets up/ready per enclave and drops the clock offset of a link that is down', async () => {
    const m = new ParentMetrics({ routes: [] });
    m.setEnclaveState(E1, { up: true, ready: true });
    m.setEnclaveState(E2, { up: true, ready: false });
    m.ingestEnclaveStats(E2, { clockOffsetMs: { parent: -250, attestation: 1500 } });
    let s = await scrape(m);
    expect(valueOf(s, 'enclavekit_enclave_up', { enclave: E1 })).toBe(1);
    expect(valueOf(s, 'enclavekit_enclave_ready', { enclave: E1 })).toBe(1);
    expect(valueOf(s, 'enclavekit_enclave_ready', { enclave: E2 })).toBe(0);
    expect(valueOf(s, 'enclavekit_clock_offset_seconds', { enclave: E2, reference: 'parent' })).toBe(-0.25);
    expect(valueOf(s, 'enclavekit_clock_offset_seconds', { enclave: E2, reference: 'attestation' })).toBe(1.5);
    m.setEnclaveState(E2, { up: false, ready: false });
    s = await scrape(m);
    expect(valueOf(s, 'enclavekit_enclave_up', { enclave: E2 })).toBe(0);
    expect(valueOf(s, 'enclavekit_clock_offset_seconds', { enclave: E2, reference: 'parent' })).toBeUndefined();
  });

  it('turns enclave totals into counters, across an enclave restart', async () => {
    const m = new ParentMetrics({ routes: [] });
    m.ingestEnclaveStats(E1, { kms: { Decrypt: { calls: 5, errors: 1 } }, dataKeyCache: { hits: 100, misses: 5 } });
    m.ingestEnclaveStats(E1, { kms: { Decrypt: { calls: 8, errors: 1 } }, dataKeyCache: { hits: 150, misses: 8 } });
    let s = await scrape(m);
    expect(valueOf(s, 'enclavekit_kms_calls_total', { enclave: E1, operation: 'Decrypt' })).toBe(8);
    expect(valueOf(s, 'enclavekit_kms_errors_total', { enclave: E1, operation: 'Decrypt' })).toBe(1);
    expect(valueOf(s, 'enclavekit_data_key_cache_hits_total', { enclave: E1 })).toBe(150);
    expect(valueOf(s, 'enclavekit_data_key_cache_misses_total', { enclave: E1 })).toBe(8);
    // Restarted: its totals start again from zero.
    m.ingestEnclaveStats(E1, { kms: { Decrypt: { calls: 2, errors: 0 } }, dataKeyCache: { hits: 3, misses: 1 } });
    s = await scrape(m);
    expect(valueOf(s, 'enclavekit_kms_calls_total', { enclave: E1, operation: 'Decrypt' })).toBe(10);
    expect(valueOf(s, 'enclavekit_data_key_cache_hits_total', { enclave: E1 })).toBe(153);
  });

  it('keeps enclaves apart and buckets unknown KMS operations as other', async () => {
    const m = new ParentMetrics({ routes: [] });
    m.ingestEnclaveStats(E1, { kms: { GenerateRandom: { calls: 1 }, ScheduleKeyDeletion: { calls: 2 }, Foo: { calls: 3 } } });
    m.ingestEnclaveStats(E2, { kms: { GenerateRandom: { calls: 7 } } });
    const s = await scrape(m);
    expect(valueOf(s, 'enclavekit_kms_calls_total', { enclave: E1, operation: 'GenerateRandom' })).toBe(1);
    expect(valueOf(s, 'enclavekit_kms_calls_total', { enclave: E2, operation: 'GenerateRandom' })).toBe(7);
    expect(valueOf(s, 'enclavekit_kms_calls_total', { enclave: E1, operation: 'other' })).toBe(5);
    const ops = new Set(s.filter((x) => x.name === 'enclavekit_kms_calls_total').map((x) => x.labels.operation));
    expect([...ops].every((op) => op === 'other' || KMS_OPERATIONS.includes(op!))).toBe(true);
  });

  it('ignores malformed reports from the link without throwing', async () => {
    const m = new ParentMetrics({ routes: [] });
    const junk: unknown[] = [
      {},
      { kms: 'Decrypt' },
      { kms: { Decrypt: 5 } },
      { kms: { Decrypt: { calls: -1, errors: Number.NaN } } },
      { kms: { Decrypt: { calls: '5' } } },
      { dataKeyCache: [1, 2] },
      { dataKeyCache: { hits: Infinity } },
      { clockOffsetMs: { parent: 'soon', attestation: Number.POSITIVE_INFINITY } },
    ];
    for (const stats of junk) m.ingestEnclaveStats(E1, stats as never);
    const s = await scrape(m);
    expect(s.filter((x) => x.labels.enclave !== undefined)).toEqual([]);
  });

  it('caps enclave labels and strips credentials from URLs', async () => {
    const m = new ParentMetrics({ routes: [], maxEnclaves: 2 });
    m.setEnclaveState('ws://user:secret@127.0.0.1:9000/enclave?token=abc#x', { up: true, ready: true });
    m.setEnclaveState(E1, { up: true, ready: true });
    m.setEnclaveState(E2, { up: true, ready: true });
    m.setEnclaveState('vsock://18:5005', { up: true, ready: true });
    const text = await m.render();
    expect(text).not.toMatch(/secret|token=|abc/);
    const labels = parseExposition(text)
      .filter((x) => x.name === 'enclavekit_enclave_up')
      .map((x) => x.labels.enclave)
      .sort();
    expect(labels).toEqual(['other', 'vsock://16:5005', 'ws://127.0.0.1:9000/enclave']);
  });
});

describe('ParentMetrics: tunnel and logs', () => {
  it('reads the tunnel byte totals at scrape time', async () => {
    const m = new ParentMetrics({ routes: [] });
    const proxy = { bytesUp: 0, bytesDown: 0 };
    m.trackTunnel(proxy);
    proxy.bytesUp = 1200;
    proxy.bytesDown = 5400;
    let s = await scrape(m);
    expect(valueOf(s, 'enclavekit_tunnel_bytes_total', { direction: 'up' })).toBe(1200);
    expect(valueOf(s, 'enclavekit_tunnel_bytes_total', { direction: 'down' })).toBe(5400);
    proxy.bytesUp += 300;
    s = await scrape(m);
    expect(valueOf(s, 'enclavekit_tunnel_bytes_total', { direction: 'up' })).toBe(1500);
    expect(valueOf(s, 'enclavekit_tunnel_bytes_total', { direction: 'down' })).toBe(5400);
  });

  it('counts dropped log fields by reason, every reason present from the start', async () => {
    const m = new ParentMetrics({ routes: [] });
    let s = await scrape(m);
    for (const reason of DROP_REASONS) expect(valueOf(s, 'enclavekit_log_fields_dropped_total', { reason })).toBe(0);
    m.recordDroppedLogFields(['pan', 'pan', 'key-material', 'bogus' as never]);
    s = await scrape(m);
    expect(valueOf(s, 'enclavekit_log_fields_dropped_total', { reason: 'pan' })).toBe(2);
    expect(valueOf(s, 'enclavekit_log_fields_dropped_total', { reason: 'key-material' })).toBe(1);
    expect(valueOf(s, 'enclavekit_log_fields_dropped_total', { reason: 'bogus' })).toBeUndefined();
  });
});

describe('ParentMetrics: registry', () => {
  it('uses its own registry: two instances do not share series, the global registry stays empty', async () => {
    const { register } = await import('prom-client');
    const a = new ParentMetrics({ routes: ['/healthz'] });
    const b = new ParentMetrics({ routes: ['/healthz'] });
    a.observeRequest('/healthz', 200, 1);
    expect(valueOf(await scrape(a), 'enclavekit_http_requests_total', { route: '/healthz' })).toBe(1);
    expect(valueOf(await scrape(b), 'enclavekit_http_requests_total', { route: '/healthz' })).toBeUndefined();
    expect(await register.metrics()).not.toContain('enclavekit_');
  });

  it('adds process metrics only when asked', async () => {
    expect(await new ParentMetrics({ routes: [] }).render()).not.toContain('process_cpu');
    expect(await new ParentMetrics({ routes: [], processMetrics: true }).render()).toContain('enclavekit_process_cpu_seconds_total');
  });

  it('renders the text exposition content type', () => {
    expect(new ParentMetrics({ routes: [] }).contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('label helpers', () => {
  it('statusClass', () => {
    expect([100, 204, 302, 404, 599, 600, 99, 200.5].map(statusClass)).toEqual(['1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'other', 'other']);
  });

  it('sanitizeUrl keeps scheme, host and path of every transport URL', () => {
    expect(sanitizeUrl('vsock://16:5005')).toBe('vsock://16:5005');
    expect(sanitizeUrl('unix:///run/enclavekit/e1.sock')).toBe('unix:///run/enclavekit/e1.sock');
    expect(sanitizeUrl('ws+unix:///run/e.sock:/api')).toBe('ws+unix:///run/e.sock:/api');
    expect(sanitizeUrl('tcp://a:b@127.0.0.1:5005?x=1')).toBe('tcp://127.0.0.1:5005');
    expect(sanitizeUrl('not a url')).toBe('invalid');
  });
});
