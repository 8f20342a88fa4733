/**
 * The pure parts of ESDK opening: the structure walk (esdk-header.ts) and the acceptance rules
 * (esdk-rules.ts), on messages the real ESDK makes with a raw AES keyring (no KMS needed).
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  NodeAlgorithmSuite,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { inspectEsdkMessage, type EsdkMessageLayout } from '../../enclave/sealed/esdk-header.js';
import { checkEsdkAcceptance, checkRequiredContext, KMS_PROVIDER_ID } from '../../enclave/sealed/esdk-rules.js';
import { EnclaveKitError, InputError } from '../../shared/errors.js';

const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const CARD_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const LIMITS = { maxEncryptedDataKeys: 10, maxBodyBytes: 1 << 20 };

const keyring = new RawAesKeyringNode({
  keyName: 'test-key',
  keyNamespace: 'test-namespace',
  unencryptedMasterKey: new Uint8Array(randomBytes(32)),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const { deserializeMessageHeader } = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);

async function make(plaintext: Uint8Array, suiteId: AlgorithmSuiteIdentifier, frameLength?: number): Promise<Uint8Array> {
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: { purpose: 'card' }, suiteId, ...(frameLength === undefined ? {} : { frameLength }) });
  return new Uint8Array(result);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    return (error as EnclaveKitError).code;
  }
  return 'accepted';
}

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    return { code: (error as EnclaveKitError).code, message: (error as EnclaveKitError).message };
  }
  return { code: 'accepted', message: '' };
}

/** Frame size on the wire for the committing suites: sequence (4) + IV (12) + content + tag (16). */
const FRAME_OVERHEAD = 4 + 12 + 16;

let threeFrames: Uint8Array;
let signed: Uint8Array;

beforeAll(async () => {
  threeFrames = await make(randomBytes(40), UNSIGNED, 16);
  signed = await make(randomBytes(100), SIGNED);
});

describe('inspectEsdkMessage', () => {
  it('reports suite, context, data keys, frames and the exact plaintext size', async () => {
    const layout = inspectEsdkMessage(threeFrames, LIMITS);
    expect(layout).toMatchObject({ version: 2, suiteId: UNSIGNED, signed: false, committing: true, frameLength: 16, frames: 3, plaintextBytes: 40 });
    expect(layout.encryptionContext).toEqual({ purpose: 'card' });
    expect(layout.encryptedDataKeys.map((k) => k.providerId)).toEqual(['test-namespace']);
    const s = inspectEsdkMessage(signed, LIMITS);
    expect(s).toMatchObject({ suiteId: SIGNED, signed: true, frames: 1, plaintextBytes: 100 });
    expect(Object.keys(s.encryptionContext).sort()).toEqual(['aws-crypto-public-key', 'purpose']);
    // A body that is an exact multiple of the frame length ends with an empty final frame.
    expect(inspectEsdkMessage(await make(randomBytes(32), UNSIGNED, 16), LIMITS)).toMatchObject({ frames: 3, plaintextBytes: 32 });
  });

  it('counts plaintext bytes against maxBodyBytes exactly', () => {
    expect(codeOf(() => inspectEsdkMessage(threeFrames, { ...LIMITS, maxBodyBytes: 39 }))).toBe('ERR_BODY_TOO_LARGE');
    expect(codeOf(() => inspectEsdkMessage(threeFrames, { ...LIMITS, maxBodyBytes: 40 }))).toBe('accepted');
  });

  it('refuses frames out of sequence', () => {
    // Body: header, then frame 1 and frame 2 (each FRAME_OVERHEAD + 16 bytes), then the final frame.
    const frame = FRAME_OVERHEAD + 16;
    const start = threeFrames.byteLength - 2 * frame - (4 + 4 + 12 + 4 + 8 + 16);
    const swapped = Uint8Array.from(threeFrames);
    swapped.set(threeFrames.subarray(start + frame, start + 2 * frame), start);
    swapped.set(threeFrames.subarray(start, start + frame), start + frame);
    expect(failure(() => inspectEsdkMessage(swapped, LIMITS))).toEqual({ code: 'ERR_SEALED_INPUT_MALFORMED', message: 'ESDK message frames are out of sequence' });
  });

  it('refuses every truncation and any trailing byte', () => {
    for (const message of [threeFrames, signed]) {
      for (let length = 0; length < message.byteLength; length += 1) {
        expect(codeOf(() => inspectEsdkMessage(message.subarray(0, length), LIMITS))).toBe('ERR_SEALED_INPUT_MALFORMED');
      }
      const longer = new Uint8Array(message.byteLength + 1);
      longer.set(message);
      expect(codeOf(() => inspectEsdkMessage(longer, LIMITS))).toBe('ERR_SEALED_INPUT_MALFORMED');
    }
  });

  it('bounds the number of encrypted data keys with the ESDK deserializer', () => {
    expect(codeOf(() => inspectEsdkMessage(threeFrames, { ...LIMITS, maxEncryptedDataKeys: 1 }))).toBe('accepted');
    // Patch the uint16 EDK count (after version, suite id, 32-byte message id, context) to 2.
    const contextLength = new DataView(threeFrames.buffer, threeFrames.byteOffset).getUint16(1 + 2 + 32);
    const countAt = 1 + 2 + 32 + 2 + contextLength;
    const patched = Uint8Array.from(threeFrames);
    new DataView(patched.buffer).setUint16(countAt, 11);
    let error: unknown;
    try {
      inspectEsdkMessage(patched, LIMITS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe('ESDK message lists more than 10 encrypted data keys');
  });

  it('refuses framed content with frame length 0', () => {
    // A v2 header ends with content type (1), frame length (uint32) and 32 bytes of suite data
    // (the commitment key): message-header.md.
    const info = deserializeMessageHeader(threeFrames);
    if (info === false) throw new Error('incomplete header');
    const at = info.headerLength - 32 - 4;
    const patched = Uint8Array.from(threeFrames);
    const view = new DataView(patched.buffer);
    expect(view.getUint32(at)).toBe(16);
    view.setUint32(at, 0);
    expect(failure(() => inspectEsdkMessage(patched, LIMITS))).toEqual({ code: 'ERR_SEALED_INPUT_MALFORMED', message: 'ESDK message has framed content with frame length 0' });
  });
});

describe('checkEsdkAcceptance', () => {
  const layout = (over: Partial<EsdkMessageLayout> = {}): Omit<EsdkMessageLayout, 'header' | 'bodyHeaders'> => ({
    version: 2,
    suiteId: UNSIGNED,
    signed: false,
    committing: true,
    encryptionContext: { purpose: 'card' },
    encryptedDataKeys: [{ providerId: KMS_PROVIDER_ID, providerInfo: CARD_ARN, encryptedDataKey: new Uint8Array(8) }] as EsdkMessageLayout['encryptedDataKeys'],
    frameLength: 4096,
    frames: 1,
    plaintextBytes: 10,
    ...over,
  });
  const rules = { cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, requireSignedSuite: false };
  const edk = (providerId: string, providerInfo: string) => [{ providerId, providerInfo, encryptedDataKey: new Uint8Array(8) }] as EsdkMessageLayout['encryptedDataKeys'];

  it('accepts a committing message with a card-key data key and the required context', () => {
    expect(codeOf(() => checkEsdkAcceptance(layout(), rules))).toBe('accepted');
    expect(codeOf(() => checkEsdkAcceptance(layout({ suiteId: SIGNED, signed: true }), { ...rules, requireSignedSuite: true }))).toBe('accepted');
  });

  it('needs provider aws-kms and exactly the card key ARN', () => {
    for (const keys of [
      edk('raw-aes', CARD_ARN), // a raw keyring can put any text in provider info
      edk(KMS_PROVIDER_ID, CARD_ARN.replace('key/1', 'key/9')),
      edk(KMS_PROVIDER_ID, CARD_ARN.toUpperCase()),
      edk(KMS_PROVIDER_ID, `${CARD_ARN} `),
      edk(KMS_PROVIDER_ID, 'alias/card'),
    ]) {
      expect(codeOf(() => checkEsdkAcceptance(layout({ encryptedDataKeys: keys }), rules))).toBe('ERR_SENDER_NOT_ALLOWED');
    }
  });

  it('refuses non-committing suites and, on request, unsigned ones', () => {
    const legacy = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;
    expect(codeOf(() => checkEsdkAcceptance(layout({ version: 1, suiteId: legacy, committing: false, signed: true }), rules))).toBe('ERR_SEALED_INPUT_MALFORMED');
    expect(codeOf(() => checkEsdkAcceptance(layout(), { ...rules, requireSignedSuite: true }))).toBe('ERR_SEALED_INPUT_MALFORMED');
  });

  it('checks required context keys and values, case-sensitively, and allows extra keys', () => {
    const required = { purpose: 'card', tenant: null };
    expect(codeOf(() => checkRequiredContext({ purpose: 'card', tenant: 'a', extra: 'x' }, required))).toBe('accepted');
    expect(codeOf(() => checkRequiredContext({ purpose: 'card' }, required))).toBe('ERR_ENCRYPTION_CONTEXT');
    expect(codeOf(() => checkRequiredContext({ purpose: 'Card', tenant: 'a' }, required))).toBe('ERR_ENCRYPTION_CONTEXT');
    expect(codeOf(() => checkRequiredContext({ Purpose: 'card', tenant: 'a' }, required))).toBe('ERR_ENCRYPTION_CONTEXT');
    // An inherited property is not a context key.
    expect(codeOf(() => checkRequiredContext(Object.create({ purpose: 'card', tenant: 'a' }) as Record<string, string>, required))).toBe('ERR_ENCRYPTION_CONTEXT');
  });
});
