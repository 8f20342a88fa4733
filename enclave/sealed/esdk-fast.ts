/**
 * A direct decryption of the unsigned key-committing ESDK suite (0x0478,
 * ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, message format 2), for messages that
 * esdk-header.ts has walked and esdk-rules.ts has accepted. Every other suite goes to the library.
 *
 * Why: the library decrypts through a chain of Node streams (header parse, verify, decipher), a
 * materials manager and keyring objects per message: well over the cost of the cryptography for a
 * one-frame card record (`npm run bench -- esdk`). This module does the same steps, in the same
 * order, on the frames esdk-header.ts already read with the ESDK's own deserializers:
 *
 * 1. Materials (aws-crypto material-management-node NodeDefaultCryptographicMaterialsManager):
 *    an unsigned suite's context must not carry the signer key `aws-crypto-public-key`.
 * 2. Data key (aws-crypto kms-keyring, strict mode): each encrypted data key with provider
 *    `aws-kms` and provider info equal to the card key ARN, in message order, is sent to KMS with
 *    the message's encryption context; a failed call moves on to the next; a malformed answer
 *    likewise; an answer for another key id, or a key that is not 32 bytes, stops.
 * 3. Key derivation and commitment (Encryption SDK specification, framework/algorithm-suites.md,
 *    "Key Derivation" and "Key Commitment"): HKDF-SHA512 (RFC 5869) with salt = message id and
 *    ikm = data key; commitment = Expand(prk, "COMMITKEY", 32) compared in constant time with the
 *    header's suite data before any key is used; derived key = Expand(prk, I2OSP(suite, 2) ‖ "DERIVEKEY", 32).
 * 4. Header authentication (data-format/message-header.md): AES-256-GCM over nothing, with the
 *    header bytes as AAD and the header's IV and tag.
 * 5. Frames (data-format/message-body.md, message-body-aad.md): AES-256-GCM with the frame's IV,
 *    AAD = message id ‖ content string ‖ uint32 sequence number ‖ uint64 content length (built by
 *    @aws-crypto/serialize's aadFactory, as the library does).
 *
 * Failures: KMS errors keep their typed mapping (unavailability first, as esdk.ts reports them);
 * anything else is DecryptionFailedError. The data key, PRK, derived key and partial plaintext are
 * zeroed on every path. test/sealed/esdk-fast.test.ts and test/fuzz/sealed-input.test.ts hold this
 * module to @aws-crypto/client-node on the same messages.
 */
import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import { AlgorithmSuiteIdentifier, type EncryptedDataKey } from '@aws-crypto/material-management-node';
import { aadFactory, ENCODED_SIGNER_KEY } from '@aws-crypto/serialize';
import { cipherKey } from '../../shared/crypto/cipher-key.js';
import { hmac } from '../../shared/crypto/hmac.js';
import { DecryptionFailedError, type EnclaveKitError } from '../../shared/errors.js';
import { mapKmsError } from '../kms/kms-errors.js';
import type { EsdkMessageLayout } from './esdk-header.js';
import { KMS_PROVIDER_ID } from './esdk-rules.js';

export const FAST_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

const KEY_BYTES = 32;
const COMMITMENT_BYTES = 32;
const TAG_BYTES = 16;
const COMMIT_LABEL = Buffer.from('COMMITKEY', 'ascii');
const KEY_LABEL = Buffer.concat([Buffer.of(FAST_SUITE >> 8, FAST_SUITE & 0xff), Buffer.from('DERIVEKEY', 'ascii')]);
/** RFC 5869 Expand's one-byte block counter for the first (and here only) block. */
const ONE = Buffer.of(1);
const EMPTY = Buffer.alloc(0);
const aad = aadFactory((text: string) => new Uint8Array(Buffer.from(text, 'utf8')));

/** The one KMS method used; the same shape as esdk.ts's EsdkDecryptClient. */
export interface FastKmsClient {
  decrypt(input: { KeyId?: string; CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }): Promise<{ KeyId?: string | undefined; Plaintext?: Uint8Array | undefined }>;
}

/** Whether the fast path applies to a walked message (the library handles the rest). */
export function fastPathApplies(layout: EsdkMessageLayout): boolean {
  return layout.suiteId === FAST_SUITE && layout.version === 2 && layout.committing && !layout.signed;
}

const view = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Steps 1-5 above; the returned plaintext belongs to the caller, who zeroes it. */
export async function decryptUnsignedCommitting(message: Uint8Array, layout: EsdkMessageLayout, kms: FastKmsClient, cardKeyArn: string): Promise<Buffer> {
  if (!fastPathApplies(layout)) throw new TypeError('decryptUnsignedCommitting: not an unsigned committing message');
  const context = { ...layout.encryptionContext };
  if (Object.hasOwn(context, ENCODED_SIGNER_KEY)) throw new DecryptionFailedError();
  const dataKey = await unwrapDataKey(layout.encryptedDataKeys, context, kms, cardKeyArn);
  try {
    return decryptWithDataKey(message, layout, dataKey);
  } finally {
    dataKey.fill(0);
  }
}

async function unwrapDataKey(keys: readonly EncryptedDataKey[], context: Record<string, string>, kms: FastKmsClient, cardKeyArn: string): Promise<Buffer> {
  const failures: EnclaveKitError[] = [];
  const fail = (): EnclaveKitError => failures.find((error) => error.status === 503) ?? failures[0] ?? new DecryptionFailedError();
  for (const edk of keys) {
    if (edk.providerId !== KMS_PROVIDER_ID || edk.providerInfo !== cardKeyArn) continue;
    let answer: { KeyId?: string | undefined; Plaintext?: Uint8Array | undefined };
    try {
      answer = await kms.decrypt({ KeyId: edk.providerInfo, CiphertextBlob: edk.encryptedDataKey, EncryptionContext: context });
    } catch (error) {
      failures.push(mapKmsError(error, 'Decrypt'));
      continue;
    }
    const { KeyId, Plaintext } = answer;
    if (typeof KeyId !== 'string' || !(Plaintext instanceof Uint8Array)) continue;
    // The library copies the answer to its own buffer and zeroes the one it was given.
    const key = Buffer.from(Plaintext);
    Plaintext.fill(0);
    if (KeyId !== edk.providerInfo || key.length !== KEY_BYTES) {
      key.fill(0);
      throw fail();
    }
    return key;
  }
  throw fail();
}

function decryptWithDataKey(message: Uint8Array, layout: EsdkMessageLayout, dataKey: Buffer): Buffer {
  const { messageHeader, rawHeader, headerAuth } = layout.header;
  const messageId = messageHeader.messageId;
  // Format 2 headers carry the commitment as suite data (fastPathApplies admits only those).
  const suiteData = 'suiteData' in messageHeader ? messageHeader.suiteData : undefined;
  const prk = hmac('sha512', view(messageId), dataKey);
  let commitment: Buffer | undefined;
  let derived: Buffer | undefined;
  try {
    // RFC 5869 Expand with L ≤ HashLen: one block, T(1) = HMAC(prk, info ‖ 0x01), truncated.
    commitment = hmac('sha512', prk, [COMMIT_LABEL, ONE]);
    if (!(suiteData instanceof Uint8Array) || suiteData.length !== COMMITMENT_BYTES || !timingSafeEqual(commitment.subarray(0, COMMITMENT_BYTES), view(suiteData))) {
      throw new DecryptionFailedError();
    }
    derived = hmac('sha512', prk, [KEY_LABEL, ONE]);
    // One key object for the header and every frame of this message.
    const key = cipherKey(derived.subarray(0, KEY_BYTES));

    const header = createDecipheriv('aes-256-gcm', key, view(headerAuth.headerIv), { authTagLength: TAG_BYTES });
    header.setAAD(view(rawHeader));
    header.setAuthTag(view(headerAuth.headerAuthTag));
    header.update(EMPTY);
    header.final();

    const plaintext = Buffer.alloc(layout.plaintextBytes);
    let written = 0;
    try {
      for (const frame of layout.bodyHeaders) {
        const contentString = aad.messageAADContentString({ contentType: messageHeader.contentType, isFinalFrame: frame.isFinalFrame });
        const frameAad = aad.messageAAD(messageId, contentString, frame.sequenceNumber, frame.contentLength);
        const tagBytes = frame.tagLength / 8;
        const start = frame.readPos;
        const decipher = createDecipheriv('aes-256-gcm', key, view(frame.iv), { authTagLength: TAG_BYTES });
        decipher.setAAD(view(frameAad));
        decipher.setAuthTag(view(message.subarray(start + frame.contentLength, start + frame.contentLength + tagBytes)));
        const head = decipher.update(view(message.subarray(start, start + frame.contentLength)));
        head.copy(plaintext, written);
        head.fill(0);
        written += head.length;
        const tail = decipher.final();
        tail.copy(plaintext, written);
        written += tail.length;
      }
      if (written !== plaintext.length) throw new DecryptionFailedError();
      return plaintext;
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
  } catch (error) {
    throw error instanceof DecryptionFailedError ? error : new DecryptionFailedError({ cause: error });
  } finally {
    prk.fill(0);
    commitment?.fill(0);
    derived?.fill(0);
  }
}
