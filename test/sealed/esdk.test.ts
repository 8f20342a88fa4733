/**
 * openEsdkRecord against real components: producers seal with @aws-crypto/client-node under a
 * simulated KMS key whose policy generateKeyPolicy wrote; the enclave opens through AttestedKms
 * (simulated NSM attestation, CiphertextForRecipient, data-key cache). "Inputs the
 * enclave accepts" and "Inputs must be authenticated, not only encrypted".
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeAlgorithmSuite,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import type { KMS } from '@aws-sdk/client-kms';
import { openEsdkRecord, type OpenEsdkOptions } from '../../enclave/sealed/esdk.js';
import { DecryptionFailedError, EnclaveKitError, InputError, ServiceError, type ErrorCode } from '../../shared/errors.js';
import { countingKms, esdkClientProvider, OTHER_BUNDLE, startSealedHarness, type CallCounts, type SealedHarness, type TestEnclave } from './harness.js';

const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const CARD = new TextEncoder().encode('{"pan":"4111111111111111","exp":"12/30","cvc":"123"}');
const CARD_CONTEXT = { purpose: 'card' };

const producerClient = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const { deserializeMessageHeader } = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);

let h: SealedHarness;
let producer: KMS;
let enclave: TestEnclave;

beforeAll(async () => {
  h = await startSealedHarness();
  producer = h.kmsFor('client');
  enclave = await h.enclave();
}, 30_000);

afterAll(async () => {
  enclave?.close();
  await h?.close();
});

interface SealOptions {
  keyArn?: string;
  extraKeyIds?: string[];
  context?: Record<string, string>;
  suiteId?: AlgorithmSuiteIdentifier;
  plaintext?: Uint8Array;
}

async function seal({ keyArn = h.cardKeyArn, extraKeyIds = [], context = CARD_CONTEXT, suiteId = SIGNED, plaintext = CARD }: SealOptions = {}): Promise<Uint8Array> {
  const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: extraKeyIds, clientProvider: esdkClientProvider(producer) });
  const { result } = await producerClient.encrypt(keyring, plaintext, { encryptionContext: context, suiteId });
  return new Uint8Array(result);
}

function options(overrides: Partial<OpenEsdkOptions> = {}, on: TestEnclave = enclave): OpenEsdkOptions {
  return { kms: on.kms, cardKeyArn: h.cardKeyArn, requiredContext: { purpose: 'card' }, maxBodyBytes: 64 * 1024, ...overrides };
}

const total = (calls: CallCounts): number => Object.values(calls).reduce((a, b) => a + b, 0);

/** The rejection of `promise`, which must be an EnclaveKitError. */
async function rejection(promise: Promise<unknown>): Promise<EnclaveKitError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error('expected a rejection, the message was accepted');
  expect(outcome).toBeInstanceOf(EnclaveKitError);
  return outcome as EnclaveKitError;
}

/** Runs `fn` and returns how many KMS calls the shared enclave made meanwhile. */
async function kmsCallsDuring(fn: () => Promise<void>, on: TestEnclave = enclave): Promise<number> {
  const before = total(on.calls);
  await fn();
  return total(on.calls) - before;
}

/** Where the body starts (after the header and its auth tag), from the ESDK's own deserializer. */
function bodyStart(message: Uint8Array): number {
  const info = deserializeMessageHeader(message);
  if (info === false) throw new Error('incomplete header');
  return info.headerLength + info.headerAuth.headerAuthLength;
}

describe('opening ESDK messages from producers', () => {
  it.each([
    ['signed committing suite (0x0578)', SIGNED],
    ['unsigned committing suite (0x0478)', UNSIGNED],
  ])('opens a %s message to the same bytes, with its context and the card key', async (_name, suiteId) => {
    const plaintext = randomBytes(3000);
    const message = await seal({ suiteId, plaintext });
    let opened;
    const calls = await kmsCallsDuring(async () => {
      opened = await openEsdkRecord(message, options());
    });
    expect(Buffer.from(opened!.plaintext)).toEqual(plaintext);
    expect(opened!.encryptionContext.purpose).toBe('card');
    expect(Object.hasOwn(opened!.encryptionContext, 'aws-crypto-public-key')).toBe(suiteId === SIGNED);
    expect(opened!.keyArn).toBe(h.cardKeyArn);
    expect(calls).toBe(1);
  });

  it('opens a multi-frame message and an empty one', async () => {
    const plaintext = randomBytes(10_000);
    const keyring = new KmsKeyringNode({ generatorKeyId: h.cardKeyArn, clientProvider: esdkClientProvider(producer) });
    const { result } = await producerClient.encrypt(keyring, plaintext, { encryptionContext: CARD_CONTEXT, suiteId: UNSIGNED, frameLength: 1024 });
    const opened = await openEsdkRecord(result, options());
    expect(Buffer.from(opened.plaintext)).toEqual(plaintext);
    const empty = await openEsdkRecord(await seal({ plaintext: new Uint8Array(0), suiteId: UNSIGNED }), options());
    expect(empty.plaintext.byteLength).toBe(0);
  });

  it('accepts extra context keys beside the purpose, and a Buffer input; refuses to run without a purpose to require', async () => {
    const message = await seal({ keyArn: h.looseKeyArn, context: { purpose: 'card', tenant: 'x' }, suiteId: UNSIGNED });
    const opened = await openEsdkRecord(Buffer.from(message), { kms: enclave.kms, cardKeyArn: h.looseKeyArn, requiredContext: { purpose: 'card' }, maxBodyBytes: 4096 });
    expect(Buffer.from(opened.plaintext)).toEqual(Buffer.from(CARD));
    expect(opened.encryptionContext).toEqual({ purpose: 'card', tenant: 'x' });
    // No default that accepts any purpose: a caller that names none is a programming error.
    const noPurpose = { kms: enclave.kms, cardKeyArn: h.looseKeyArn, maxBodyBytes: 4096 } as unknown as Parameters<typeof openEsdkRecord>[1];
    await expect(openEsdkRecord(message, noPurpose)).rejects.toThrow(RangeError);
    await expect(openEsdkRecord(message, { ...noPurpose, requiredContext: { purpose: '' } })).rejects.toThrow(RangeError);
  });

  it('leaves the caller\'s bytes as they were: a view inside a larger buffer, on the direct and the library path, opened or refused', async () => {
    // openEsdkRecord reads the message through a Buffer over the same memory (no copy): nothing on
    // any path may write to it, nor read past the view.
    for (const [suiteId, useLibrary] of [[UNSIGNED, false], [UNSIGNED, true], [SIGNED, false]] as const) {
      const message = await seal({ suiteId });
      const backing = new Uint8Array(message.byteLength + 64).fill(0xa5);
      backing.set(message, 32);
      const view = backing.subarray(32, 32 + message.byteLength);
      const before = Uint8Array.from(backing);
      const opened = await openEsdkRecord(view, options({ useLibrary }));
      expect(Buffer.from(opened.plaintext)).toEqual(Buffer.from(CARD));
      opened.plaintext.fill(0);
      expect(backing).toEqual(before);
      // A last byte changed (GCM tag or signature): refused, and the bytes are still the caller's.
      view[view.byteLength - 1]! ^= 1;
      const tampered = Uint8Array.from(backing);
      expect((await rejection(openEsdkRecord(view, options({ useLibrary })))).code).toBe('ERR_DECRYPT_FAILED');
      expect(backing).toEqual(tampered);
    }
  });

  it('1,000 records sealed with a caching CMM share one data key: one GenerateDataKey, one enclave Decrypt', async () => {
    const producerCalls: CallCounts = {};
    const counted = countingKms(producer, producerCalls);
    const cmm = new NodeCachingMaterialsManager({
      backingMaterials: new KmsKeyringNode({ generatorKeyId: h.cardKeyArn, clientProvider: esdkClientProvider(counted) }),
      cache: getLocalCryptographicMaterialsCache(10),
      maxAge: 10 * 60_000,
      maxMessagesEncrypted: 2000,
    });
    const fresh = await h.enclave();
    try {
      const records = Array.from({ length: 1000 }, (_, i) => new TextEncoder().encode(`{"pan":"41111111111${String(i).padStart(5, '0')}","exp":"12/30"}`));
      const messages: Uint8Array[] = [];
      for (const record of records) {
        messages.push((await producerClient.encrypt(cmm, record, { encryptionContext: CARD_CONTEXT, suiteId: UNSIGNED })).result);
      }
      expect(producerCalls.generateDataKey).toBe(1);
      for (const [i, message] of messages.entries()) {
        const opened = await openEsdkRecord(message, options({}, fresh));
        expect(Buffer.from(opened.plaintext).equals(Buffer.from(records[i]!))).toBe(true);
      }
      expect(fresh.calls).toEqual({ Decrypt: 1 });
      expect(fresh.kms.cache.stats()).toMatchObject({ loads: 1, hits: 999 });
    } finally {
      fresh.close();
    }
  }, 30_000);

  it('without a caching CMM every message has its own data key: N messages, N Decrypt calls', async () => {
    const fresh = await h.enclave();
    try {
      const messages = await Promise.all(Array.from({ length: 5 }, () => seal({ suiteId: UNSIGNED })));
      for (const message of messages) await openEsdkRecord(message, options({}, fresh));
      // Opening them again is free: the data keys are cached.
      for (const message of messages) await openEsdkRecord(message, options({}, fresh));
      expect(fresh.calls).toEqual({ Decrypt: 5 });
    } finally {
      fresh.close();
    }
  });

  it('unwraps only the card key data key when the message lists another KMS key first', async () => {
    // The other key (any principal may use it) generates the data key; the card key wraps a copy.
    const message = await seal({ keyArn: h.otherKeyArn, extraKeyIds: [h.cardKeyArn], suiteId: UNSIGNED });
    const edks = (deserializeMessageHeader(message) as Exclude<ReturnType<typeof deserializeMessageHeader>, false>).messageHeader.encryptedDataKeys;
    expect(edks.map((k) => k.providerInfo)).toEqual([h.otherKeyArn, h.cardKeyArn]);
    let opened;
    const calls = await kmsCallsDuring(async () => {
      opened = await openEsdkRecord(message, options());
    });
    // A discovery keyring would have unwrapped the first data key (the enclave role may use the
    // other key) and reported that key.
    expect(opened!.keyArn).toBe(h.cardKeyArn);
    expect(calls).toBe(1);
  });
});

describe('authentication rules (refused before any KMS call)', () => {
  it('refuses a message under another KMS key: ERR_SENDER_NOT_ALLOWED (403), no KMS call', async () => {
    const message = await seal({ keyArn: h.otherKeyArn, suiteId: UNSIGNED });
    let error: EnclaveKitError | undefined;
    const calls = await kmsCallsDuring(async () => {
      error = await rejection(openEsdkRecord(message, options()));
    });
    expect(error).toBeInstanceOf(InputError);
    expect(error!.code).toBe('ERR_SENDER_NOT_ALLOWED');
    expect(error!.status).toBe(403);
    expect(error!.message).not.toContain(h.otherKeyArn);
    expect(calls).toBe(0);
  });

  it('refuses a missing purpose and a wrong purpose without echoing it: ERR_ENCRYPTION_CONTEXT, no KMS call', async () => {
    const missing = await seal({ keyArn: h.looseKeyArn, context: { tenant: 'a' }, suiteId: UNSIGNED });
    const wrong = await seal({ keyArn: h.looseKeyArn, context: { purpose: 'stolen-value-8817' }, suiteId: UNSIGNED });
    const errors: EnclaveKitError[] = [];
    const calls = await kmsCallsDuring(async () => {
      errors.push(await rejection(openEsdkRecord(missing, options({ cardKeyArn: h.looseKeyArn }))));
      errors.push(await rejection(openEsdkRecord(wrong, options({ cardKeyArn: h.looseKeyArn }))));
    });
    expect(errors.map((e) => [e.code, e.status])).toEqual([
      ['ERR_ENCRYPTION_CONTEXT', 400],
      ['ERR_ENCRYPTION_CONTEXT', 400],
    ]);
    expect(errors[0]!.message).toContain('"purpose"');
    expect(errors[1]!.message).not.toContain('stolen-value-8817');
    expect(calls).toBe(0);
  });

  it('the generated card key policy refuses producers another purpose (KMS AccessDenied on GenerateDataKey)', async () => {
    await expect(seal({ context: { purpose: 'other' }, suiteId: UNSIGNED })).rejects.toThrow(/not authorized|AccessDenied/);
  });

  it('refuses a non-committing suite with a typed error, no KMS call', async () => {
    const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
    const keyring = new KmsKeyringNode({ generatorKeyId: h.cardKeyArn, clientProvider: esdkClientProvider(producer) });
    for (const suiteId of [
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256,
    ]) {
      const { result } = await legacy.encrypt(keyring, CARD, { encryptionContext: CARD_CONTEXT, suiteId });
      let error: EnclaveKitError | undefined;
      const calls = await kmsCallsDuring(async () => {
        error = await rejection(openEsdkRecord(result, options()));
      });
      expect(error!.code).toBe('ERR_SEALED_INPUT_MALFORMED');
      expect(error!.message).toMatch(/key-committing/);
      expect(calls).toBe(0);
    }
  });

  it('requireSignedSuite refuses the unsigned committing suite and accepts the signed one', async () => {
    const error = await rejection(openEsdkRecord(await seal({ suiteId: UNSIGNED }), options({ requireSignedSuite: true })));
    expect(error.code).toBe('ERR_SEALED_INPUT_MALFORMED');
    const opened = await openEsdkRecord(await seal({ suiteId: SIGNED }), options({ requireSignedSuite: true }));
    expect(Buffer.from(opened.plaintext)).toEqual(Buffer.from(CARD));
  });

  it('enforces maxBodyBytes and maxEncryptedDataKeys before any KMS call', async () => {
    const plaintext = randomBytes(100);
    const message = await seal({ plaintext, suiteId: UNSIGNED });
    const threeKeys = await seal({ extraKeyIds: [h.otherKeyArn, h.looseKeyArn], suiteId: UNSIGNED });
    let tooBig: EnclaveKitError | undefined;
    let tooMany: EnclaveKitError | undefined;
    const calls = await kmsCallsDuring(async () => {
      tooBig = await rejection(openEsdkRecord(message, options({ maxBodyBytes: 99 })));
      tooMany = await rejection(openEsdkRecord(threeKeys, options({ maxEncryptedDataKeys: 2 })));
    });
    expect(tooBig!.code).toBe('ERR_BODY_TOO_LARGE');
    expect(tooMany!.code).toBe('ERR_SEALED_INPUT_MALFORMED');
    expect(tooMany!.message).toContain('more than 2 encrypted data keys');
    expect(calls).toBe(0);
    expect(Buffer.from((await openEsdkRecord(message, options({ maxBodyBytes: 100 }))).plaintext)).toEqual(plaintext);
    expect((await openEsdkRecord(threeKeys, options({ maxEncryptedDataKeys: 3 }))).keyArn).toBe(h.cardKeyArn);
  });
});

describe('malformed and tampered messages', () => {
  it('every truncation of a signed and an unsigned message is ERR_SEALED_INPUT_MALFORMED without a KMS call', async () => {
    for (const suiteId of [UNSIGNED, SIGNED]) {
      const message = await seal({ suiteId });
      const codes = new Set<ErrorCode>();
      const calls = await kmsCallsDuring(async () => {
        for (let length = 0; length < message.byteLength; length += 1) {
          codes.add((await rejection(openEsdkRecord(message.subarray(0, length), options()))).code);
        }
      });
      expect([...codes]).toEqual(['ERR_SEALED_INPUT_MALFORMED']);
      expect(calls).toBe(0);
    }
  });

  it('garbage, base64 text and trailing bytes are ERR_SEALED_INPUT_MALFORMED', async () => {
    const message = await seal({ suiteId: UNSIGNED });
    const cases = [
      new Uint8Array(0),
      Buffer.from(Buffer.from(message).toString('base64')),
      Buffer.concat([message, Buffer.from([0])]),
      Buffer.concat([await seal({ suiteId: SIGNED }), Buffer.from([0])]),
    ];
    for (const bytes of cases) expect((await rejection(openEsdkRecord(bytes, options()))).code).toBe('ERR_SEALED_INPUT_MALFORMED');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), async (bytes) => {
        const error = await rejection(openEsdkRecord(bytes, options()));
        expect(error.code).toBe('ERR_SEALED_INPUT_MALFORMED');
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('a flipped byte in the body, the signature or the wrapped data key is ERR_DECRYPT_FAILED', async () => {
    const unsigned = await seal({ suiteId: UNSIGNED });
    const signed = await seal({ suiteId: SIGNED });
    const flip = (message: Uint8Array, at: number): Uint8Array => {
      const copy = Uint8Array.from(message);
      copy[at]! ^= 0x01;
      return copy;
    };
    // Frame content: after the final-frame header (0xFFFFFFFF, sequence, 12-byte IV, length).
    const contentAt = (m: Uint8Array): number => bodyStart(m) + 4 + 4 + 12 + 4 + 2;
    const info = deserializeMessageHeader(unsigned) as Exclude<ReturnType<typeof deserializeMessageHeader>, false>;
    const blob = Buffer.from(info.messageHeader.encryptedDataKeys[0]!.encryptedDataKey);
    const blobAt = Buffer.from(unsigned).indexOf(blob) + 40;
    const tampered = [
      flip(unsigned, contentAt(unsigned)),
      flip(signed, contentAt(signed)),
      flip(unsigned, unsigned.byteLength - 1), // last byte of the final frame's GCM tag
      flip(signed, signed.byteLength - 1), // last byte of the ECDSA signature
      flip(unsigned, blobAt), // KMS ciphertext blob: KMS answers InvalidCiphertextException
    ];
    for (const message of tampered) {
      const error = await rejection(openEsdkRecord(message, options()));
      expect(error).toBeInstanceOf(DecryptionFailedError);
      expect(error.code).toBe('ERR_DECRYPT_FAILED');
      expect(error.message).toBe(DecryptionFailedError.MESSAGE);
    }
    // The untampered messages still open (nothing was poisoned in the cache).
    expect(Buffer.from((await openEsdkRecord(unsigned, options())).plaintext)).toEqual(Buffer.from(CARD));
    expect(Buffer.from((await openEsdkRecord(signed, options())).plaintext)).toEqual(Buffer.from(CARD));
  });

  it('every single-byte change of a message is refused with a typed error, never opened', async () => {
    const message = await seal({ suiteId: UNSIGNED });
    const allowed = new Set<ErrorCode>(['ERR_SEALED_INPUT_MALFORMED', 'ERR_SENDER_NOT_ALLOWED', 'ERR_ENCRYPTION_CONTEXT', 'ERR_DECRYPT_FAILED', 'ERR_BODY_TOO_LARGE']);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: message.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const copy = Uint8Array.from(message);
        copy[at]! ^= xor;
        const error = await rejection(openEsdkRecord(copy, options()));
        expect(allowed.has(error.code)).toBe(true);
      }),
      { seed: 42, numRuns: 150 },
    );
  }, 30_000);
});

describe('KMS failures keep their typed errors', () => {
  it('an enclave whose PCR0 differs from the key policy gets ERR_KMS_ACCESS_DENIED (503)', async () => {
    const other = await h.enclave({ bundle: OTHER_BUNDLE });
    try {
      const error = await rejection(openEsdkRecord(await seal({ suiteId: UNSIGNED }), options({}, other)));
      expect(error).toBeInstanceOf(ServiceError);
      expect(error.code).toBe('ERR_KMS_ACCESS_DENIED');
      expect(error.status).toBe(503);
      expect(other.calls).toEqual({ Decrypt: 1 });
    } finally {
      other.close();
    }
  });

  it('an unreachable KMS gives ERR_KMS_UNAVAILABLE (503)', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const offline = await h.enclave({ endpoint: 'https://127.0.0.1:1' });
    try {
      const error = await rejection(openEsdkRecord(await seal({ suiteId: UNSIGNED }), options({}, offline)));
      expect(error).toBeInstanceOf(ServiceError);
      expect(error.code).toBe('ERR_KMS_UNAVAILABLE');
      expect(error.status).toBe(503);
    } finally {
      offline.close();
    }
  });

  it('KMS internal errors and throttling are 503s; once KMS recovers, a tampered copy is ERR_DECRYPT_FAILED', async () => {
    const fresh = await h.enclave();
    const message = await seal({ suiteId: UNSIGNED });
    const tampered = Uint8Array.from(message);
    tampered[tampered.byteLength - 1]! ^= 0x01;
    try {
      const codes: string[] = [];
      for (const failError of ['KMSInternalException', 'ThrottlingException'] as const) {
        h.sim.setFaults({ failRate: 1, failError, failOperations: ['Decrypt'] });
        try {
          codes.push((await rejection(openEsdkRecord(message, options({}, fresh)))).code);
        } finally {
          h.sim.setFaults({ failRate: 0, failOperations: [] });
        }
      }
      expect(codes).toEqual(['ERR_KMS_UNAVAILABLE', 'ERR_KMS_THROTTLED']);
      // Same wrapped data key, KMS healthy again: the earlier failures are not this call's.
      expect((await rejection(openEsdkRecord(tampered, options({}, fresh)))).code).toBe('ERR_DECRYPT_FAILED');
      expect(Buffer.from((await openEsdkRecord(message, options({}, fresh))).plaintext)).toEqual(Buffer.from(CARD));
      expect(fresh.calls).toEqual({ Decrypt: 3 });
    } finally {
      fresh.close();
    }
  });

  it('concurrent opens keep their own outcomes and share one Decrypt', async () => {
    const fresh = await h.enclave();
    try {
      const message = await seal({ suiteId: UNSIGNED });
      const tampered = Uint8Array.from(message);
      tampered[tampered.byteLength - 1]! ^= 0x01;
      const foreign = await seal({ keyArn: h.otherKeyArn, suiteId: UNSIGNED });
      const inputs = [message, tampered, foreign, message.subarray(0, 50), message, tampered];
      const outcomes = await Promise.all(
        inputs.map((m) =>
          openEsdkRecord(m, options({}, fresh)).then(
            (opened) => Buffer.from(opened.plaintext).toString(),
            (error: unknown) => (error as EnclaveKitError).code,
          ),
        ),
      );
      const card = Buffer.from(CARD).toString();
      expect(outcomes).toEqual([card, 'ERR_DECRYPT_FAILED', 'ERR_SENDER_NOT_ALLOWED', 'ERR_SEALED_INPUT_MALFORMED', card, 'ERR_DECRYPT_FAILED']);
      expect(fresh.calls).toEqual({ Decrypt: 1 });
    } finally {
      fresh.close();
    }
  });

  it('refuses bad options from its own caller with TypeError / RangeError', async () => {
    const message = await seal({ suiteId: UNSIGNED });
    await expect(openEsdkRecord(message, options({ cardKeyArn: 'alias/card' }))).rejects.toBeInstanceOf(RangeError);
    await expect(openEsdkRecord(message, options({ maxBodyBytes: 0 }))).rejects.toBeInstanceOf(RangeError);
    await expect(openEsdkRecord('x' as unknown as Uint8Array, options())).rejects.toBeInstanceOf(TypeError);
  });
});
