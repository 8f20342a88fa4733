/**
 * An enclave gateway for parent HTTP tests that never reach an enclave: always connected and ready,
 * it answers every operation `{ok: true}` and records the operation names it was asked for, so a
 * test can show which requests got past the parent's checks (scopes, body rules) and which did not.
 */
import type { EnclaveGateway } from '../../parent/enclave-gateway.js';

export function recordingGateway(): { gateway: EnclaveGateway; calls: string[] } {
  const calls: string[] = [];
  const gateway: EnclaveGateway = {
    status: () => ({ connected: true, ready: true }),
    call: async (op) => {
      calls.push(op);
      return { ok: true };
    },
  };
  return { gateway, calls };
}
