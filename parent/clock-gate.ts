/**
 * What an enclave's clock offset means for readiness: the gate follows what actually breaks.
 *
 * - SigV4: the enclave signs every KMS request with its own clock, and AWS refuses a request whose
 *   signature timestamp is more than 5 minutes from AWS's time (AWS Identity and Access Management
 *   User Guide, "Elements of an AWS API request signature": the request must reach AWS within five
 *   minutes of the time stamp). That is the first thing to fail as the clock drifts, so readiness
 *   ends before it: at the window less a margin for the parent's own error (the parent compares
 *   against its clock, kept by chrony on the Amazon Time Sync Service) and for request transit.
 * - Certificate validity: TLS to KMS checks the server certificate's notBefore/notAfter against the
 *   enclave clock (RFC 5280 section 4.1.2.5). Those windows are months long and certificates are
 *   issued well before use, so only offsets of hours or days break TLS, long after SigV4 has.
 *
 * The offset is measured by the parent, whose clock a compromised parent controls: lying can only
 * make a healthy enclave look unready (a denial of service it has anyway), never make the enclave
 * sign with a wrong time, since the enclave never takes the parent's time.
 */
/** SigV4's tolerance for the signature timestamp, ms. */
export const SIGV4_WINDOW_MS = 300_000;
/** Default readiness limit: the SigV4 window less one minute of margin. */
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 240_000;
/** Default warning threshold: at the ~6 s/week drift seen on Nitro Enclaves, weeks before the limit. */
export const DEFAULT_CLOCK_WARN_OFFSET_MS = 30_000;

export interface ClockLimits {
  /** Above this (absolute), warn but stay ready, ms. */
  warnMs: number;
  /** Above this (absolute), not ready, ms. */
  maxMs: number;
}

export type ClockVerdict = { level: 'ok' } | { level: 'warn' | 'unready'; reason: string };

/** The verdict for one measured offset (enclave clock minus the parent's, ms). */
export function judgeClockOffset(offsetMs: number, limits: ClockLimits): ClockVerdict {
  const off = Math.abs(offsetMs);
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  if (off > limits.maxMs) {
    return { level: 'unready', reason: `enclave clock is ${Math.round(offsetMs)} ms off the parent's (limit ${limits.maxMs} ms; SigV4 allows ${seconds(SIGV4_WINDOW_MS)})` };
  }
  if (off > limits.warnMs) {
    return { level: 'warn', reason: `enclave clock is ${Math.round(offsetMs)} ms off the parent's (warning above ${limits.warnMs} ms, unready above ${limits.maxMs} ms)` };
  }
  return { level: 'ok' };
}
