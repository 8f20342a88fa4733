/**
 * Every input limit of enclavekit, written once (docs/conventions.md item 6). Each is checked before the
 * corresponding allocation. Units are in the names.
 */
export const LIMITS = {
  /** A whole attestation document. NSM API: payload bstr .size (1..16384); a doc is ~4.5 KiB. */
  attestationDocumentMaxBytes: 16_384 + 512,
  /**
   * public_key, user_data and nonce. The NSM API text says 512 (user_data, nonce) but its CDDL,
   * nsm-check.rs (DATA_LEN = 1024) and real documents accept 1024: docs/formats.md section 0 item 5.
   */
  attestationFieldMaxBytes: 1024,
  /** One certificate in `certificate` / `cabundle`: attestation_process.md §3.2.2 (1..1024). */
  certificateMaxBytes: 1024,
  /** cabundle entries: real documents carry 4 (root, regional, zonal, instance); leave headroom. */
  cabundleMaxEntries: 8,
  /** NSM: max_pcrs = 32 (nsm-check.rs). */
  pcrCount: 32,
  /** NSM ioctl buffers: include/uapi/linux/nsm.h. */
  nsmRequestMaxBytes: 0x1000,
  nsmResponseMaxBytes: 0x3000,
  /** One parent ⇄ enclave frame (4-byte length prefix excluded). Batches of 1000 sealed cards fit. */
  frameMaxBytes: 8 * 1024 * 1024,
  /** Requests in flight on one link, per direction. */
  rpcMaxInFlight: 1024,
  /** Default deadline of an RPC request, ms. */
  rpcDefaultDeadlineMs: 10_000,
  /** Parent HTTP request bodies. */
  httpBodyMaxBytes: 4 * 1024 * 1024,
  /** Items in one batch request. */
  batchMaxItems: 1000,
  /** KMS model: Encrypt plaintext 1..4096 bytes. */
  kmsPlaintextMaxBytes: 4096,
  /** KMS model: CiphertextBlob and CiphertextForRecipient 1..6144 bytes. */
  kmsCiphertextMaxBytes: 6144,
  /** KMS model: Recipient.AttestationDocument 1..262144 bytes. */
  kmsAttestationDocumentMaxBytes: 262_144,
  /** KMS model: NumberOfBytes 1..1024. */
  kmsRandomMaxBytes: 1024,
  /** KMS model: GrantTokens at most 10. */
  kmsGrantTokensMax: 10,
} as const;
