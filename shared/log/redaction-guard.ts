/**
 * The redaction guard for structured log events ("Operations"): enclave log events
 * cross the link to the parent, which writes them as JSON lines. Before a field is written, the
 * guard refuses it when it could carry a card number (pan.ts) or key material (key-material.ts),
 * or when it is not a short scalar. Refused fields are left out, never masked: a masked value
 * would still show the length and the kept digits. What was dropped is reported by field name and
 * reason, and counted (LogGuard) for the `enclavekit_log_fields_dropped_total` metric.
 *
 * Field names are checked too (short identifiers, and the same content rules): a name is as
 * visible in the log as its value. A refused name is reported as INVALID_FIELD_NAME, never echoed.
 *
 * Digest allowlist: SHA-256 fingerprints and PCR values are public, but look exactly like keys
 * (long hex). Fields named in `digestFields` may carry a value that is, as a whole, one hex string
 * of 32-128 digits (single case) or 16-64 colon-separated hex bytes; anything else in those fields
 * goes through every rule like any other field.
 */
import { findKeyMaterial } from './key-material.js';
import { containsPan } from './pan.js';

export type LogScalar = string | number | boolean | null;
export type DropReason = 'pan' | 'key-material' | 'type' | 'too-long' | 'name' | 'too-many';
export const DROP_REASONS: readonly DropReason[] = ['pan', 'key-material', 'type', 'too-long', 'name', 'too-many'];

export interface DroppedField {
  /** The field name, or INVALID_FIELD_NAME when the name itself was refused. */
  field: string;
  reason: DropReason;
}

export interface GuardedFields {
  fields: Record<string, LogScalar>;
  dropped: DroppedField[];
}

export interface LogGuardOptions {
  /** Fields that may hold a hex digest (fingerprints, PCRs); default DEFAULT_DIGEST_FIELDS. */
  digestFields?: Iterable<string>;
}

/** Longest string value kept, in UTF-16 code units: a log field is a label, not a payload. */
export const LOG_VALUE_MAX_CHARS = 512;
/** Most fields kept per event; the rest are dropped as 'too-many'. */
export const LOG_FIELDS_MAX = 64;
export const FIELD_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const INVALID_FIELD_NAME = '(invalid name)';

/** enclavekit's own digest-carrying fields (attestation and HPKE recipient logs). */
export const DEFAULT_DIGEST_FIELDS: readonly string[] = [
  'fingerprint', 'sha256', 'sha384', 'digest', 'imageSha384',
  'pcr0', 'pcr1', 'pcr2', 'pcr3', 'pcr4', 'pcr8', 'pcr16',
];

const DIGEST_VALUE = /^(?:[0-9a-f]{32,128}|[0-9A-F]{32,128}|(?:[0-9A-Fa-f]{2}:){15,63}[0-9A-Fa-f]{2})$/;

/** Checks every field of one event; see the file comment. Pure: no counters. */
export function guardLogFields(fields: Readonly<Record<string, unknown>>, options: LogGuardOptions = {}): GuardedFields {
  return guardWith(fields, new Set(options.digestFields ?? DEFAULT_DIGEST_FIELDS));
}

function guardWith(fields: Readonly<Record<string, unknown>>, digestFields: ReadonlySet<string>): GuardedFields {
  const kept: Record<string, LogScalar> = {};
  const dropped: DroppedField[] = [];
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return { fields: kept, dropped: [{ field: INVALID_FIELD_NAME, reason: 'type' }] };
  }
  let count = 0;
  for (const [name, value] of Object.entries(fields)) {
    // Absent, as JSON.stringify would leave it out; the parent logger's own fields use undefined.
    if (value === undefined) continue;
    const nameProblem = FIELD_NAME_PATTERN.test(name) ? textProblem(name) : 'name';
    if (nameProblem !== null) {
      dropped.push({ field: INVALID_FIELD_NAME, reason: nameProblem });
      continue;
    }
    if (count === LOG_FIELDS_MAX) {
      dropped.push({ field: name, reason: 'too-many' });
      continue;
    }
    const reason = valueProblem(value, digestFields.has(name));
    if (reason === null) {
      kept[name] = value as LogScalar;
      count++;
    } else {
      dropped.push({ field: name, reason });
    }
  }
  return { fields: kept, dropped };
}

function valueProblem(value: unknown, digestAllowed: boolean): DropReason | null {
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'type';
    // A PAN is an integer: float noise ("0.30000000000000004") is not checked as digits.
    return containsPan(String(Math.trunc(Math.abs(value)))) ? 'pan' : null;
  }
  if (typeof value !== 'string') return 'type';
  if (value.length > LOG_VALUE_MAX_CHARS) return 'too-long';
  if (digestAllowed && DIGEST_VALUE.test(value)) return null;
  return textProblem(value);
}

function textProblem(text: string): 'pan' | 'key-material' | null {
  if (containsPan(text)) return 'pan';
  if (findKeyMaterial(text) !== null) return 'key-material';
  return null;
}

/** The guard with counters by reason, for metrics; one per log sink. */
export class LogGuard {
  readonly #digestFields: ReadonlySet<string>;
  readonly #onDrop: ((dropped: readonly DroppedField[]) => void) | undefined;
  readonly #counts: Record<DropReason, number> = { pan: 0, 'key-material': 0, type: 0, 'too-long': 0, name: 0, 'too-many': 0 };

  constructor(options: LogGuardOptions & { onDrop?: (dropped: readonly DroppedField[]) => void } = {}) {
    this.#digestFields = new Set(options.digestFields ?? DEFAULT_DIGEST_FIELDS);
    this.#onDrop = options.onDrop;
  }

  guard(fields: Readonly<Record<string, unknown>>): GuardedFields {
    const result = guardWith(fields, this.#digestFields);
    if (result.dropped.length > 0) {
      for (const { reason } of result.dropped) this.#counts[reason]++;
      this.#onDrop?.(result.dropped);
    }
    return result;
  }

  /** Fields dropped since construction, by reason. */
  counts(): Record<DropReason, number> {
    return { ...this.#counts };
  }
}
