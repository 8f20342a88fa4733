/**
 * Spans of text found by the PII detectors, and the linear merge that resolves overlaps.
 */
export type PiiKind = 'email' | 'phone' | 'ssn' | 'card' | 'iban';

export interface PiiSpan {
  readonly kind: PiiKind;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  /**
   * A near-miss that must stay as written and shield its characters from lower-priority
   * detectors (an IBAN-shaped string with a bad checksum is not a card number plus letters).
   */
  readonly keep?: true;
}

/**
 * Adds the spans of `candidates` (sorted by start) that overlap neither `accepted` (sorted,
 * disjoint) nor an earlier accepted candidate. Linear in both lengths.
 */
export function mergeSpans(accepted: readonly PiiSpan[], candidates: readonly PiiSpan[]): PiiSpan[] {
  const out: PiiSpan[] = [];
  let i = 0;
  for (const span of candidates) {
    while (i < accepted.length && accepted[i]!.start < span.start) out.push(accepted[i++]!);
    const previous = out[out.length - 1];
    const next = accepted[i];
    if ((previous === undefined || previous.end <= span.start) && (next === undefined || next.start >= span.end)) out.push(span);
  }
  while (i < accepted.length) out.push(accepted[i++]!);
  return out;
}
