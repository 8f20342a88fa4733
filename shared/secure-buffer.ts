/**
 * Zeroing helpers for key material (docs/security.md, "Secrets hygiene").
 *
 * JavaScript cannot promise that no copy of a secret survives (the GC may have moved it, OpenSSL
 * keeps its own copies inside KeyObjects and cipher contexts), so this is damage limitation: the
 * buffers we own are overwritten as soon as we are done with them, on success and on failure.
 */

/** Overwrites every given buffer with zeros. `undefined` entries are skipped. */
export function zero(...buffers: readonly (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) buffer?.fill(0);
}

/**
 * Runs `use(secret)` and zeroes `secret` afterwards, whether `use` returns or throws. The result
 * must not alias `secret` (it would be zeroed too); copy what must outlive the call.
 */
export function withSecret<T>(secret: Uint8Array, use: (secret: Uint8Array) => T): T {
  try {
    return use(secret);
  } finally {
    secret.fill(0);
  }
}
