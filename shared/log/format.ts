/**
 * One log line per event for people and for programs. Every process writes JSON lines
 * (`{ts, level, component, msg | event, ...fields}`); a supervisor that shows them on a terminal
 * turns each into one short human line, and otherwise passes JSON through with `level` and
 * `component` filled in, so every line a collector sees has both.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

export interface LogRecord {
  ts: string;
  level: Level;
  component: string;
  /** What happened: the line's `msg`, else its `event`, else the raw text of a non-JSON line. */
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * Reads one line written by `component`. A JSON object keeps its fields; anything else (a
 * banner, a warning from a library) becomes an `info` record whose msg is the text.
 */
export function parseLogLine(line: string, component: string, now: () => number = Date.now): LogRecord {
  let value: unknown;
  if (line.startsWith('{')) {
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ts: new Date(now()).toISOString(), level: 'info', component, msg: line, fields: {} };
  }
  const { ts, level, component: own, msg, event, ...fields } = value as Record<string, unknown>;
  const text = typeof msg === 'string' ? msg : typeof event === 'string' ? event : '';
  // An enclave event relayed by the parent names the event in `event` beside msg=enclave-event.
  if (typeof msg === 'string' && typeof event === 'string') fields.event = event;
  return {
    ts: typeof ts === 'string' ? ts : new Date(now()).toISOString(),
    level: typeof level === 'string' && LEVELS.includes(level) ? (level as Level) : 'info',
    component: typeof own === 'string' ? own : component,
    msg: text,
    fields,
  };
}

export function formatJson(record: LogRecord): string {
  return JSON.stringify({ ts: record.ts, level: record.level, component: record.component, msg: record.msg, ...record.fields });
}

/** `12:00:01.234 INFO  parent   enclave-ready enclave=unix:///… reason="…"` (UTC time of day). */
export function formatHuman(record: LogRecord): string {
  const time = record.ts.length >= 23 ? record.ts.slice(11, 23) : record.ts;
  const pairs = Object.entries(record.fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[\w./:@+,-]*$/.test(v) && v !== '' ? v : JSON.stringify(v)}`);
  return [time, record.level.toUpperCase().padEnd(5), record.component.padEnd(8), record.msg, ...pairs].join(' ').trimEnd();
}
