/**
 * vsock ports on the parent (CID 3) that other Nitro Enclaves software already uses, so that a
 * listener that finds one taken can say who probably holds it instead of a bare EADDRINUSE.
 * - 8000: AWS's nitro-enclaves-vsock-proxy service listens here by default
 *   (aws-nitro-enclaves-cli vsock_proxy, /etc/nitro_enclaves/vsock-proxy.yaml, and the
 *   "vsock-proxy" section of the Nitro Enclaves user guide).
 * - 9000: nitro-cli waits here for the enclave's boot heartbeat while `run-enclave` runs
 *   (aws-nitro-enclaves-sdk-bootstrap init/init.c sends it to CID 3, port 9000).
 */
const KNOWN_OWNERS: Readonly<Record<number, string>> = {
  8000: "AWS's nitro-enclaves-vsock-proxy listens on vsock port 8000 by default; give enclavekit's tunnel another port (proxy.listen in the parent config, proxy in the enclave config)",
  9000: 'nitro-cli uses vsock port 9000 for the enclave boot heartbeat; pick another port',
};

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE') return code;
  }
  return undefined;
}

/** Who probably holds `port` when binding it failed with EADDRINUSE; undefined otherwise. */
export function vsockPortClash(port: number, error: unknown): string | undefined {
  return errorCode(error) === 'EADDRINUSE' ? KNOWN_OWNERS[port] : undefined;
}
