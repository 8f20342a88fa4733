/**
 * The simulator says so, loudly, every time it starts: its
 * attestation documents are signed by a locally made root that proves nothing about the code
 * that runs, so nobody may mistake a simulated enclave for a real one in a log.
 */

/** A line every banner contains; tests and the production-bundle check search for it. */
export const SIMULATOR_BANNER_MARKER = 'ENCLAVEKIT SIMULATOR';

export interface AnnounceOptions {
  /** Where the banner goes; default process.stderr (stdout may carry binary output). */
  stream?: { write(text: string): unknown };
  /** Extra lines, e.g. the state directory or the simulated module id. No secrets. */
  details?: readonly string[];
}

/** Builds the banner text for `component` (e.g. "NSM + Nitro PKI", "KMS"). */
export function simulatorBanner(component: string, details: readonly string[] = []): string {
  const lines = [
    `${SIMULATOR_BANNER_MARKER}: ${component}`,
    'This is NOT an AWS Nitro Enclave or an AWS service. Its attestation documents are signed',
    'by a simulated root certificate: trust that root in development and CI only, never in production.',
    ...details,
  ];
  const width = Math.max(...lines.map((line) => line.length)) + 6;
  const rule = '!'.repeat(width);
  const body = lines.map((line) => `!! ${line.padEnd(width - 6)} !!`);
  return `${rule}\n${body.join('\n')}\n${rule}\n`;
}

/** Writes the banner (to stderr unless told otherwise). */
export function announceSimulator(component: string, options: AnnounceOptions = {}): void {
  const stream = options.stream ?? process.stderr;
  stream.write(simulatorBanner(component, options.details));
}
