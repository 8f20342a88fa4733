/**
 * Structure of an AWS Encryption SDK message, read with the ESDK's own deserializers
 * (`@aws-crypto/serialize`, the code `@aws-crypto/decrypt-node` itself decrypts with), before any
 * key is asked for. Pure: no KMS, no clock, no key material.
 *
 * The whole message is walked here, not only the header: header (message-header.md), then every
 * frame header with `decodeBodyHeader` (message-body.md), then the footer (message-footer.md).
 * A message that passes is complete and well framed, so whatever the ESDK reports once it holds
 * the data key (header auth tag, key commitment, a frame's GCM tag, the footer signature) is a
 * cryptographic failure, never a structural one: it can be reported as one ERR_DECRYPT_FAILED.
 * The plaintext size is the sum of the frame content lengths, known exactly before decrypting.
 *
 * Format reference: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html
 * and aws-encryption-sdk-specification data-format/{message-header,message-body,message-footer}.md.
 */
import type { EncryptedDataKey } from '@aws-crypto/material-management-node';
import { NodeAlgorithmSuite } from '@aws-crypto/material-management-node';
// The same 5.0.2 release as the other @aws-crypto packages:
// the header and body deserializers the client itself runs, so both read the same bytes alike.
import { decodeBodyHeader, deserializeFactory, deserializeSignature, type BodyHeader, type HeaderInfo } from '@aws-crypto/serialize';
import { InputError } from '../../shared/errors.js';

/** data-format/message-header.md "Content Type": 0x01 non-framed, 0x02 framed. */
const CONTENT_TYPE_FRAMED = 2;

const toUtf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
const { deserializeMessageHeader } = deserializeFactory(toUtf8, NodeAlgorithmSuite);

export interface EsdkMessageLimits {
  /** Encrypted data keys a header may list (the ESDK's maxEncryptedDataKeys). */
  maxEncryptedDataKeys: number;
  /** Plaintext bytes the body may hold (sum of frame content lengths). */
  maxBodyBytes: number;
}

export interface EsdkMessageLayout {
  /** 1 (non-committing suites only) or 2 (committing suites only). */
  version: number;
  suiteId: number;
  /** The suite signs the message (ECDSA P-384 footer). */
  signed: boolean;
  /** The suite commits to its data key (message format version 2). */
  committing: boolean;
  encryptionContext: Readonly<Record<string, string>>;
  encryptedDataKeys: readonly EncryptedDataKey[];
  frameLength: number;
  /** Number of frames (1 for non-framed content). */
  frames: number;
  /** Plaintext length, exactly: the sum of the frame content lengths. */
  plaintextBytes: number;
  /** The header as the deserializer read it (views into the message): for esdk-fast.ts. */
  header: HeaderInfo;
  /** Each frame header as decodeBodyHeader read it, in order (views into the message). */
  bodyHeaders: readonly BodyHeader[];
}

function malformed(message: string, cause?: unknown): InputError {
  // Fixed texts only: the ESDK's own error strings can carry message bytes (e.g. the message id).
  return new InputError('ERR_SEALED_INPUT_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * Reads the header and walks the body and footer of `message`. Throws InputError
 * ERR_SEALED_INPUT_MALFORMED (truncated, trailing bytes, bad framing, too many data keys) or
 * ERR_BODY_TOO_LARGE (plaintext over `maxBodyBytes`).
 */
export function inspectEsdkMessage(message: Uint8Array, limits: EsdkMessageLimits): EsdkMessageLayout {
  let info: HeaderInfo | false;
  try {
    info = deserializeMessageHeader(message, { maxEncryptedDataKeys: limits.maxEncryptedDataKeys });
  } catch (error) {
    // `needs` failures of the deserializer. Only this one reason is worth telling apart (it is
    // the one limit a well-meaning producer can hit: an ESDK keyring with many wrapping keys).
    if (error instanceof Error && error.message === 'maxEncryptedDataKeys exceeded.') {
      throw malformed(`ESDK message lists more than ${limits.maxEncryptedDataKeys} encrypted data keys`, error);
    }
    throw malformed('ESDK message header is malformed', error);
  }
  if (info === false) throw malformed('ESDK message is truncated (incomplete header)');

  const { messageHeader, algorithmSuite, headerLength, headerAuth } = info;
  const framed = messageHeader.contentType === CONTENT_TYPE_FRAMED;
  // message-header.md "Frame Length": framed content needs a positive frame length (ESDK encrypt
  // refuses 0 too); a zero length would make every non-final frame empty.
  if (framed && messageHeader.frameLength === 0) throw malformed('ESDK message has framed content with frame length 0');

  // Version 1 headers carry the header IV in the message, version 2 headers use an all-zero
  // implicit IV (message-header.md "Header Authentication"); headerAuthLength counts what is on
  // the wire in both cases.
  let pos = headerLength + headerAuth.headerAuthLength;
  let plaintextBytes = 0;
  let frames = 0;
  const bodyHeaders: BodyHeader[] = [];
  for (let expected = 1; ; expected += 1) {
    let frame;
    try {
      frame = decodeBodyHeader(message, info, pos);
    } catch (error) {
      throw malformed('ESDK message body is malformed', error);
    }
    if (frame === false) throw malformed('ESDK message is truncated (incomplete frame header)');
    // message-body.md: sequence numbers start at 1 and increase by 1 (the ESDK checks it too).
    if (frame.sequenceNumber !== expected) throw malformed('ESDK message frames are out of sequence');
    frames += 1;
    bodyHeaders.push(frame);
    plaintextBytes += frame.contentLength;
    if (plaintextBytes > limits.maxBodyBytes) {
      throw new InputError('ERR_BODY_TOO_LARGE', `ESDK message body exceeds ${limits.maxBodyBytes} bytes`);
    }
    // tagLength is in bits (AlgorithmSuite.tagLength).
    pos = frame.readPos + frame.contentLength + frame.tagLength / 8;
    if (pos > message.byteLength) throw malformed('ESDK message is truncated (incomplete frame)');
    if (frame.isFinalFrame) break;
  }

  const footer = message.subarray(pos);
  if (algorithmSuite.signatureCurve !== undefined) {
    // message-footer.md: uint16 signature length, then the DER signature, then nothing.
    try {
      deserializeSignature(footer);
    } catch (error) {
      throw malformed(footer.byteLength === 0 ? 'ESDK message is truncated (no signature footer)' : 'ESDK message footer is malformed', error);
    }
  } else if (footer.byteLength !== 0) {
    throw malformed('ESDK message has bytes after its last frame');
  }

  return {
    version: messageHeader.version,
    suiteId: messageHeader.suiteId,
    signed: algorithmSuite.signatureCurve !== undefined,
    committing: algorithmSuite.commitment === 'KEY',
    encryptionContext: messageHeader.encryptionContext,
    encryptedDataKeys: messageHeader.encryptedDataKeys,
    frameLength: messageHeader.frameLength,
    frames,
    plaintextBytes,
    header: info,
    bodyHeaders,
  };
}
