/** What the HTTP routes need from the enclave link, whatever the transport underneath. */
export interface EnclaveStatus {
  /** A link to the enclave is open. */
  connected: boolean;
  /** The enclave reported itself attested with its keys loaded. */
  ready: boolean;
  /** Why not ready, for /readyz (never a secret). */
  reason?: string | undefined;
}

export interface EnclaveGateway {
  status(): EnclaveStatus;
  /** One request to the enclave's message API; rejects with a typed error (503 when unavailable). */
  call(op: string, body: unknown, options?: { deadlineMs?: number; signal?: AbortSignal }): Promise<unknown>;
}
