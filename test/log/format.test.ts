import { describe, expect, it } from 'vitest';
import { formatHuman, formatJson, parseLogLine } from '../../shared/log/format.js';

const NOW = () => Date.parse('2026-01-02T03:04:05.678Z');

describe('dev log lines', () => {
  it('keeps the level and fields of a JSON line and names its event', () => {
    const r = parseLogLine('{"ts":"2026-01-02T03:04:05.678Z","level":"warn","component":"enclave","event":"kms-call","operation":"Decrypt"}', 'x', NOW);
    expect(r).toEqual({ ts: '2026-01-02T03:04:05.678Z', level: 'warn', component: 'enclave', msg: 'kms-call', fields: { operation: 'Decrypt' } });
    expect(formatHuman(r)).toBe('03:04:05.678 WARN  enclave  kms-call operation=Decrypt');
  });

  it('gives a line without level or JSON the info level and the component that printed it', () => {
    const r = parseLogLine('*** SIMULATED NSM at /tmp/nsm.sock ***', 'enclave', NOW);
    expect(r.level).toBe('info');
    expect(JSON.parse(formatJson(r))).toEqual({ ts: '2026-01-02T03:04:05.678Z', level: 'info', component: 'enclave', msg: '*** SIMULATED NSM at /tmp/nsm.sock ***' });
    expect(parseLogLine('{"level":"loud","msg":"m"}', 'parent', NOW).level).toBe('info');
    expect(parseLogLine('{not json', 'kms', NOW).msg).toBe('{not json');
  });

  it('quotes values a reader could misread and keeps a relayed event name', () => {
    const r = parseLogLine('{"level":"info","component":"parent","msg":"enclave-event","event":"keys-loaded","reason":"a b","n":2}', 'parent', NOW);
    expect(formatHuman(r)).toBe('03:04:05.678 INFO  parent   enclave-event reason="a b" n=2 event=keys-loaded');
  });
});
