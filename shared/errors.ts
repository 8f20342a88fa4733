/**
 * The one error family of enclavekit. Every failure that a peer, a caller or the environment can
 * cause is an `EnclaveKitError` with a stable string `code` (a closed union: scripts and clients
 * match on it) and the HTTP status the parent uses at its edge. Messages never carry secrets or
 * input data; the underlying reason, when it could be secret-dependent, stays in `cause` for local
 * logs only (docs/conventions.md item 2).
 *
 * `docs/errors.md` lists the same codes; test/shared/errors.test.ts keeps the two in step.
 */

/** Code → HTTP status and a one-line meaning (the meaning is what docs/errors.md must say). */
export const ERROR_CODES = {
  // Attestation documents (shared/attestation).
  ERR_ATTESTATION_MALFORMED: { status: 400, meaning: 'The attestation document is not a well-formed COSE_Sign1 Nitro document.' },
  ERR_ATTESTATION_SIGNATURE: { status: 422, meaning: 'The COSE_Sign1 ES384 signature does not verify with the leaf certificate.' },
  ERR_ATTESTATION_CHAIN: { status: 422, meaning: 'The certificate chain does not lead to a trusted root or breaks a CA rule.' },
  ERR_ATTESTATION_EXPIRED: { status: 422, meaning: 'A certificate in the chain has expired at the verification time.' },
  ERR_ATTESTATION_NOT_YET_VALID: { status: 422, meaning: 'A certificate in the chain is not yet valid at the verification time.' },
  ERR_ATTESTATION_STALE: { status: 422, meaning: 'The document timestamp is older than the allowed age (or in the future).' },
  ERR_ATTESTATION_DEBUG_MODE: { status: 422, meaning: 'The document comes from a debug-mode enclave (PCR0-2 all zero).' },
  ERR_ATTESTATION_POLICY: { status: 500, meaning: 'Verification was asked for without expected PCRs (fail closed).' },
  ERR_PCR_MISMATCH: { status: 422, meaning: 'A PCR in the document differs from the expected value.' },
  ERR_NONCE_MISMATCH: { status: 422, meaning: 'The document nonce differs from the expected nonce.' },
  ERR_USER_DATA_MISMATCH: { status: 422, meaning: 'The document user_data differs from the expected value.' },
  ERR_PUBLIC_KEY_MISMATCH: { status: 422, meaning: 'The document public_key differs from the expected value.' },

  // Framing and the parent ⇄ enclave RPC (shared/protocol, shared/transport).
  ERR_FRAME_TOO_LARGE: { status: 413, meaning: 'A frame exceeds the maximum frame size.' },
  ERR_FRAME_MALFORMED: { status: 400, meaning: 'A frame could not be decoded or lacks required fields.' },
  ERR_PROTOCOL_VERSION: { status: 400, meaning: 'A frame carries an unsupported protocol version.' },
  ERR_UNKNOWN_OPERATION: { status: 404, meaning: 'The requested operation is not known to the peer.' },
  ERR_TOO_MANY_IN_FLIGHT: { status: 503, meaning: 'The cap on concurrent requests is reached.' },
  ERR_DEADLINE_EXCEEDED: { status: 504, meaning: 'The request did not complete before its deadline.' },
  ERR_CANCELLED: { status: 499, meaning: 'The request was cancelled by its caller.' },
  ERR_CONNECTION_LOST: { status: 503, meaning: 'The connection to the peer closed before the reply arrived.' },
  ERR_TRANSPORT: { status: 500, meaning: 'A transport could not be opened (bad URL, socket error).' },

  // The parent's HTTP edge (parent/).
  ERR_BAD_REQUEST: { status: 400, meaning: 'The request body or parameters are invalid.' },
  ERR_UNAUTHORIZED: { status: 401, meaning: 'The bearer token is missing or wrong.' },
  ERR_FORBIDDEN: { status: 403, meaning: 'The bearer token lacks the scope this operation (or detokenize recipient) needs.' },
  ERR_NOT_FOUND: { status: 404, meaning: 'No such path.' },
  ERR_METHOD_NOT_ALLOWED: { status: 405, meaning: 'The path does not accept this HTTP method.' },
  ERR_BODY_TOO_LARGE: { status: 413, meaning: 'The request body exceeds its size limit.' },
  ERR_HEADERS_TOO_LARGE: { status: 431, meaning: 'The request headers exceed the HTTP parser limit (RFC 6585 §5).' },
  ERR_BATCH_TOO_LARGE: { status: 413, meaning: 'A batch holds more items than allowed.' },
  ERR_ENCLAVE_UNAVAILABLE: { status: 503, meaning: 'No enclave is connected, attested and ready.' },
  ERR_PROXY_DENIED: { status: 403, meaning: 'The tunnel target is not on the proxy allowlist.' },

  // Sealed input and cryptography (enclave/, shared/).
  ERR_DECRYPT_FAILED: { status: 400, meaning: 'Sealed data could not be opened (one message for every secret-dependent reason).' },
  ERR_CMS_MALFORMED: { status: 502, meaning: "KMS's CiphertextForRecipient is not the CMS EnvelopedData KMS sends (a bad upstream answer, hence 502)." },
  ERR_SEALED_INPUT_MALFORMED: { status: 400, meaning: 'A sealed input does not have the expected envelope shape.' },
  ERR_SENDER_NOT_ALLOWED: { status: 403, meaning: 'The sealed input does not come from an allowlisted, authenticated producer.' },
  ERR_ENCRYPTION_CONTEXT: { status: 400, meaning: 'A required encryption-context key is missing or has the wrong value.' },
  ERR_RATE_LIMITED: { status: 429, meaning: 'An in-enclave rate limit refused the request.' },
  ERR_RECIPIENT_NOT_ALLOWED: { status: 403, meaning: 'The re-encryption recipient is not in the enclave configuration.' },
  ERR_KEY_NOT_PINNED: { status: 403, meaning: 'A wrapped key the parent handed over is not one the enclave configuration pins (name, KMS key, encryption context, blob hash or size).' },
  ERR_POLICY_MALFORMED: { status: 400, meaning: 'A KMS key policy is not valid JSON or breaks the key-policy grammar (the message names the element).' },
  ERR_INVALID_CARD: { status: 422, meaning: 'The card data is not a valid card record.' },
  ERR_INVALID_TOKEN: { status: 422, meaning: 'The token is not a token this enclave issued.' },

  // KMS, seen from the enclave (enclave/kms).
  ERR_KMS_UNAVAILABLE: { status: 503, meaning: 'KMS could not be reached or timed out.' },
  ERR_KMS_THROTTLED: { status: 503, meaning: 'KMS throttled the request beyond the retry budget.' },
  ERR_KMS_ACCESS_DENIED: { status: 503, meaning: 'KMS refused the enclave (key policy, attestation or credentials).' },
  ERR_KMS_REJECTED: { status: 502, meaning: 'KMS rejected the request for another reason (see the KMS error name).' },

  // Sealed secrets, seen from the enclave (enclave/secrets).
  ERR_SECRET_UNAVAILABLE: { status: 503, meaning: 'Parameter Store or Secrets Manager could not be reached, refused the read, or has no such secret.' },
  ERR_SECRET_UNKNOWN: { status: 500, meaning: 'A handler asked for a secret the enclave configuration does not name.' },

  // The Nitro Secure Module (enclave/nsm).
  ERR_NSM: { status: 500, meaning: 'The NSM answered with an error code.' },
  ERR_NSM_UNAVAILABLE: { status: 503, meaning: 'No NSM device (or simulator) is reachable.' },
  ERR_NSM_MALFORMED: { status: 502, meaning: 'An NSM request or response is not the CBOR message the NSM API defines.' },

  // Process-level.
  ERR_CONFIG: { status: 500, meaning: 'Configuration is missing, has unknown keys or invalid values.' },
  ERR_NOT_READY: { status: 503, meaning: 'The component has not finished starting.' },
  ERR_SIM_STATE: { status: 500, meaning: 'The simulator state directory is missing or inconsistent.' },
  ERR_INTERNAL: { status: 500, meaning: 'An unexpected internal failure (details only in local logs).' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** Base class. Subclasses only narrow which codes they may carry. */
export class EnclaveKitError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.name = new.target.name;
  }

  /** The JSON shape clients see: `{"error": {"code", "message"}}`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

type CodesStartingWith<P extends string> = Extract<ErrorCode, `${P}${string}`>;

export type AttestationErrorCode =
  | CodesStartingWith<'ERR_ATTESTATION_'>
  | 'ERR_PCR_MISMATCH'
  | 'ERR_NONCE_MISMATCH'
  | 'ERR_USER_DATA_MISMATCH'
  | 'ERR_PUBLIC_KEY_MISMATCH';

export class AttestationError extends EnclaveKitError {
  declare readonly code: AttestationErrorCode;
  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export type ProtocolErrorCode =
  | CodesStartingWith<'ERR_FRAME_'>
  | 'ERR_PROTOCOL_VERSION'
  | 'ERR_UNKNOWN_OPERATION'
  | 'ERR_TOO_MANY_IN_FLIGHT'
  | 'ERR_DEADLINE_EXCEEDED'
  | 'ERR_CANCELLED'
  | 'ERR_CONNECTION_LOST'
  | 'ERR_TRANSPORT';

export class ProtocolError extends EnclaveKitError {
  declare readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Every secret-dependent failure to open sealed data (AEAD tag, CMS unwrap, wrong key, padding)
 * surfaces as this one error with this one message; the reason stays in `cause`.
 */
export class DecryptionFailedError extends EnclaveKitError {
  static readonly MESSAGE = 'decryption failed';
  constructor(options?: { cause?: unknown }) {
    super('ERR_DECRYPT_FAILED', DecryptionFailedError.MESSAGE, options);
  }
}

export type InputErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_HEADERS_TOO_LARGE'
  | 'ERR_BATCH_TOO_LARGE'
  | 'ERR_SEALED_INPUT_MALFORMED'
  | 'ERR_SENDER_NOT_ALLOWED'
  | 'ERR_ENCRYPTION_CONTEXT'
  | 'ERR_RATE_LIMITED'
  | 'ERR_RECIPIENT_NOT_ALLOWED'
  | 'ERR_KEY_NOT_PINNED'
  | 'ERR_POLICY_MALFORMED'
  | 'ERR_INVALID_CARD'
  | 'ERR_INVALID_TOKEN'
  | 'ERR_PROXY_DENIED';

/** A peer or caller sent something we refuse (bad shape, not allowed, over a limit). */
export class InputError extends EnclaveKitError {
  declare readonly code: InputErrorCode;
  constructor(code: InputErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export type ServiceErrorCode =
  | CodesStartingWith<'ERR_KMS_'>
  | CodesStartingWith<'ERR_NSM'>
  | CodesStartingWith<'ERR_SECRET_'>
  | 'ERR_ENCLAVE_UNAVAILABLE'
  | 'ERR_CMS_MALFORMED'
  | 'ERR_CONFIG'
  | 'ERR_NOT_READY'
  | 'ERR_SIM_STATE'
  | 'ERR_INTERNAL';

/**
 * A dependency or the process itself failed (KMS, NSM, configuration, readiness). A malformed
 * CiphertextForRecipient belongs here: it reaches the enclave inside TLS that the enclave
 * terminates itself, so the parent cannot have altered it; it is KMS's answer, and a bad answer
 * from upstream is a 502 like ERR_NSM_MALFORMED.
 */
export class ServiceError extends EnclaveKitError {
  declare readonly code: ServiceErrorCode;
  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Maps anything thrown to an EnclaveKitError for the edge. Unknown errors become ERR_INTERNAL with
 * a fixed message, so a stray exception text (which might hold input) never reaches a client.
 */
export function toEnclaveKitError(error: unknown): EnclaveKitError {
  if (error instanceof EnclaveKitError) return error;
  return new ServiceError('ERR_INTERNAL', 'internal error', { cause: error });
}

/** Rebuilds a typed error from its wire form `{code, message}` (RPC replies, HTTP bodies). */
export function errorFromWire(wire: unknown): EnclaveKitError {
  if (typeof wire === 'object' && wire !== null) {
    const { code, message } = wire as { code?: unknown; message?: unknown };
    if (isErrorCode(code) && typeof message === 'string') return new EnclaveKitError(code, message);
  }
  return new ServiceError('ERR_INTERNAL', 'peer sent an unrecognised error');
}
