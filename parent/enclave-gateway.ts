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
  call(op: string, body: unknown, options?: CallOptions): Promise<unknown>;
}

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  /**
   * Also use an enclave that is connected but not ready (attestation only: an operator needs the
   * document of an enclave KMS refuses, to see which measurement differs).
   */
  allowNotReady?: boolean;
}
