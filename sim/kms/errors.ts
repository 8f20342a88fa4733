/**
 * KMS wire errors. These are not enclavekit error codes: they are the error names of the AWS KMS
 * JSON 1.1 protocol, which the unmodified SDK turns into exception classes (`__type` → class).
 * A handler throws `KmsFault`; the HTTP layer writes `{"__type": name, "message": text}` with the
 * status AWS uses: 400 for client-side errors, 500 for KMSInternalException,
 * DependencyTimeoutException and KeyUnavailableException (docs/formats.md 5.5, from
 * aws-nitro-enclaves-sdk-c docs/kms-apis/Decrypt.md "Errors").
 */

/** Error names the simulator can send (botocore kms service-2.json, plus the common AWS errors). */
export const KMS_ERROR_NAMES = [
  'AccessDeniedException',
  'AlreadyExistsException',
  'DependencyTimeoutException',
  'DisabledException',
  'DryRunOperationException',
  'IncorrectKeyException',
  'IncompleteSignatureException',
  'InvalidAliasNameException',
  'InvalidArnException',
  'InvalidCiphertextException',
  'InvalidGrantIdException',
  'InvalidGrantTokenException',
  'InvalidKeyUsageException',
  'InvalidMarkerException',
  'InvalidSignatureException',
  'KeyUnavailableException',
  'KMSInternalException',
  'KMSInvalidMacException',
  'KMSInvalidSignatureException',
  'KMSInvalidStateException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'MissingAuthenticationTokenException',
  'NotFoundException',
  'RequestEntityTooLargeException',
  'SerializationException',
  'TagException',
  'ThrottlingException',
  'UnknownOperationException',
  'UnrecognizedClientException',
  'UnsupportedOperationException',
  'ValidationException',
] as const;

export type KmsErrorName = (typeof KMS_ERROR_NAMES)[number];

export function isKmsErrorName(value: unknown): value is KmsErrorName {
  return typeof value === 'string' && (KMS_ERROR_NAMES as readonly string[]).includes(value);
}

const SERVER_SIDE: ReadonlySet<KmsErrorName> = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
]);

export function kmsStatusOf(name: KmsErrorName): number {
  if (SERVER_SIDE.has(name)) return 500;
  if (name === 'RequestEntityTooLargeException') return 413;
  return 400;
}

/** An AWS-shaped error answer. The message goes to the client: never put key material in it. */
export class KmsFault extends Error {
  readonly type: KmsErrorName;
  readonly status: number;

  constructor(type: KmsErrorName, message: string) {
    super(message);
    this.name = 'KmsFault';
    this.type = type;
    this.status = kmsStatusOf(type);
  }

  /** Some errors carry no message on the wire (KmsFault with an empty message), as AWS sends them. */
  toWire(): { __type: KmsErrorName; message?: string } {
    return this.message === '' ? { __type: this.type } : { __type: this.type, message: this.message };
  }
}

/**
 * Coral-style constraint message, as KMS writes it, e.g. for a 4097-byte Encrypt:
 * "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must
 * have length less than or equal to 4096", and with the offending value for numbers and strings:
 * "Value '0' at 'numberOfBytes' failed to satisfy constraint: ...". Blobs are never quoted.
 * Member paths are lower camel case, nested members dotted (`recipient.keyEncryptionAlgorithm`).
 */
export function constraintViolation(path: string, constraint: string, value?: string | number): KmsFault {
  const shown = value === undefined ? 'Value' : `Value '${value}'`;
  return new KmsFault(
    'ValidationException',
    `1 validation error detected: ${shown} at '${path}' failed to satisfy constraint: ${constraint}`,
  );
}

/** `KeyEncryptionAlgorithm` under `Recipient` → `recipient.keyEncryptionAlgorithm`. */
export function memberPath(prefix: string, member: string): string {
  return `${prefix}${member.charAt(0).toLowerCase()}${member.slice(1)}`;
}

export const THROTTLING_MESSAGE =
  'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';
