/**
 * Fuzzing the parsing of sealed inputs, layer by layer, with what an attacker controls:
 * - ESDK messages (enclave/sealed/esdk-header.ts, esdk-rules.ts, esdk.ts): real messages from
 *   `@aws-crypto/client-node`, mutated byte by byte, through the structure walk and the acceptance
 *   rules, then the whole open with a KMS stand-in that only knows the data keys it issued, and
 *   the unsigned suite's direct decryption (esdk-fast.ts) against @aws-crypto/client-node on the
 *   same messages;
 * - HPKE envelopes: the JSON form (shared/hpke/envelope.ts decodeSealedEnvelope) against an oracle
 *   of its rules, and the open with a sender policy (enclave/hpke-open.ts) on random and mutated
 *   envelopes;
 * - card records (enclave/cards/card-record.ts) from random bytes and random JSON shapes.
 * Property everywhere: only the documented typed errors, never another exception; whatever is
 * accepted is exactly what was sealed; error messages never carry the input.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, KmsKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import { parseCardRecord } from '../../enclave/cards/card-record.js';
import { openSealedInput, type SenderPolicy } from '../../enclave/hpke-open.js';
import { inspectEsdkMessage } from '../../enclave/sealed/esdk-header.js';
import { decryptUnsignedCommitting, fastPathApplies } from '../../enclave/sealed/esdk-fast.js';
import { checkEsdkAcceptance } from '../../enclave/sealed/esdk-rules.js';
import { openEsdkRecord } from '../../enclave/sealed/esdk.js';
import { EnclaveKitError, InputError } from '../../shared/errors.js';
import { decodeSealedEnvelope, encodeSealedEnvelope } from '../../shared/hpke/envelope.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { generateHpkeKeyPair, HPKE_INFO, type HpkeKeyPair } from '../../shared/hpke/suite.js';
import { issuingKmsStub } from '../../sim/kms/issuing-stub.js';
import { fuzzParams } from './runs.js';

const CARD_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const CARD = new TextEncoder().encode(JSON.stringify({ pan: '4111111111111111', exp: '12/39', cvc: '123' }));
const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/** Byte-level edits: set, insert, delete a run, truncate, duplicate a run. */
const edits = fc.array(
  fc.record({
    at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    value: fc.integer({ min: 0, max: 255 }),
    count: fc.integer({ min: 1, max: 40 }),
    op: fc.constantFrom('set', 'set', 'set', 'insert', 'delete', 'truncate', 'duplicate'),
  }),
  { minLength: 1, maxLength: 3 },
);
function mutate(original: Uint8Array, steps: { at: number; value: number; count: number; op: string }[]): Uint8Array {
  let b = Buffer.from(original);
  for (const s of steps) {
    const at = Math.floor(s.at * b.length);
    if (s.op === 'set') b[at] = b[at] === s.value ? s.value ^ 0x80 : s.value;
    else if (s.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(s.value), b.subarray(at)]);
    else if (s.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + s.count)]);
    else if (s.op === 'truncate') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at + s.count), b.subarray(at)]);
  }
  return new Uint8Array(b);
}

/** Runs `fn`; returns the typed error it threw, or undefined. Any other exception fails the test. */
async function typedFailure(fn: () => unknown): Promise<EnclaveKitError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    if (error instanceof EnclaveKitError) return error;
    throw new Error(`untyped exception: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
  }
}

describe('ESDK messages', () => {
  /** A KMS stand-in: issues data keys, and decrypts only blobs it issued (else InvalidCiphertext). */
  const kms = issuingKmsStub(CARD_ARN);
  const messages: Uint8Array[] = [];
  beforeAll(async () => {
    const keyring = new KmsKeyringNode({ generatorKeyId: CARD_ARN, clientProvider: () => kms as never });
    const aes = new RawAesKeyringNode({ keyName: 'k', keyNamespace: 'ns', unencryptedMasterKey: new Uint8Array(randomBytes(32)), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
    for (const suiteId of [SIGNED, UNSIGNED]) {
      for (const frameLength of [4096, 16]) {
        const { result } = await encrypt(keyring, CARD, { encryptionContext: { purpose: 'card' }, suiteId, frameLength });
        messages.push(new Uint8Array(result));
      }
    }
    // A message whose only data key is not a KMS one (another producer's keyring).
    messages.push(new Uint8Array((await encrypt(aes, CARD, { encryptionContext: { purpose: 'card' } })).result));
  });
  const message = fc.tuple(fc.integer({ min: 0, max: 4 }), edits).map(([i, e]) => ({ index: i, bytes: mutate(messages[i]!, e) }));
  const rules = { cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, requireSignedSuite: false };

  it('structure walk and acceptance rules: only InputError with their codes', async () => {
    await fc.assert(
      fc.asyncProperty(message, async ({ bytes }) => {
        const error = await typedFailure(() => checkEsdkAcceptance(inspectEsdkMessage(bytes, { maxEncryptedDataKeys: 10, maxBodyBytes: 1024 }), rules));
        if (error !== undefined) {
          expect(error).toBeInstanceOf(InputError);
          expect(['ERR_SEALED_INPUT_MALFORMED', 'ERR_BODY_TOO_LARGE', 'ERR_SENDER_NOT_ALLOWED', 'ERR_ENCRYPTION_CONTEXT']).toContain(error.code);
        }
      }),
      fuzzParams(2),
    );
  });

  it('the whole open: typed errors only, and nothing but the sealed card ever comes out', async () => {
    let opened = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 9, arbitrary: message }, fc.integer({ min: 0, max: 3 }).map((i) => ({ index: i, bytes: messages[i]! }))), async ({ bytes }) => {
        let plaintext: Uint8Array | undefined;
        const error = await typedFailure(async () => {
          plaintext = (await openEsdkRecord(bytes, { kms, cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, maxBodyBytes: 1024 })).plaintext;
        });
        if (error !== undefined) {
          expect(['ERR_SEALED_INPUT_MALFORMED', 'ERR_BODY_TOO_LARGE', 'ERR_SENDER_NOT_ALLOWED', 'ERR_ENCRYPTION_CONTEXT', 'ERR_DECRYPT_FAILED']).toContain(error.code);
          return;
        }
        opened += 1;
        expect(Buffer.from(plaintext!).equals(Buffer.from(CARD))).toBe(true);
      }),
      fuzzParams(0.5),
    );
    // The unmutated messages (a tenth of the sample) do open: the property is not vacuous.
    expect(opened).toBeGreaterThan(0);
  });

  it('the unsigned fast path agrees with @aws-crypto/client-node on every walked message: same accept/reject, same plaintext', async () => {
    // The library as a producer's consumer would run it: strict KMS keyring on the card key, the
    // same KMS stand-in, the same limits as the structure walk.
    const library = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys: 10 });
    const strict = new KmsKeyringNode({ keyIds: [CARD_ARN], clientProvider: () => kms as never });
    const tally = { compared: 0, accepted: 0, rejected: 0 };
    const unsignedBase = fc.tuple(fc.integer({ min: 2, max: 3 }), edits).map(([i, e]) => mutate(messages[i]!, e));
    // One flipped bit anywhere: most such messages keep their structure, so they reach the
    // cryptographic checks (commitment, header tag, frame tags) rather than the walk.
    // Unbiased positions: fast-check otherwise favours small values, i.e. the first bytes.
    const bitFlip = fc.tuple(fc.integer({ min: 2, max: 3 }), fc.noBias(fc.nat(1 << 20)), fc.integer({ min: 0, max: 7 })).map(([i, at, bit]) => {
      const copy = messages[i]!.slice();
      const where = at % copy.length;
      copy[where] = (copy[where] as number) ^ (1 << bit);
      return copy;
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 5, arbitrary: unsignedBase }, { weight: 4, arbitrary: bitFlip }, fc.integer({ min: 2, max: 3 }).map((i) => messages[i]!)), async (bytes) => {
        let layout;
        try {
          layout = inspectEsdkMessage(bytes, { maxEncryptedDataKeys: 10, maxBodyBytes: 1024 });
        } catch {
          return; // never reaches a decryptor: nothing to compare
        }
        if (!fastPathApplies(layout)) return;
        tally.compared += 1;
        let ours: string;
        try {
          ours = (await decryptUnsignedCommitting(bytes, layout, kms, CARD_ARN)).toString('hex');
        } catch (error) {
          expect(error).toBeInstanceOf(EnclaveKitError);
          ours = 'reject';
        }
        let theirs: string;
        try {
          theirs = Buffer.from((await library.decrypt(strict, bytes, { maxBodySize: 1024 })).plaintext).toString('hex');
        } catch {
          theirs = 'reject';
        }
        expect(ours).toBe(theirs);
        if (ours === 'reject') tally.rejected += 1;
        else tally.accepted += 1;
      }),
      fuzzParams(1),
    );
    // Both verdicts occurred, so agreement is not vacuous.
    expect(tally.accepted).toBeGreaterThan(0);
    expect(tally.rejected).toBeGreaterThan(0);
  });
});

describe('HPKE envelopes', () => {
  const b64 = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((u) => Buffer.from(u).toString('base64'));
  const field = fc.oneof(
    { weight: 4, arbitrary: b64(32) },
    fc.integer({ min: 0, max: 80 }).chain((n) => b64(n)),
    fc.constantFrom('AB==', 'AAA', '====', 'A=AA', 'YQ', 'YQ=', 'a b=', '-_-_', 'AAAA\n', ''),
    fc.string({ maxLength: 12 }),
    fc.constantFrom(null, 7, true, [], {}),
  );
  const envelope = fc.oneof(
    fc.record({ enc: field, ciphertext: field, sender: field, extra: field }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const size = (s: unknown): number | undefined => (typeof s === 'string' && STRICT_B64.test(s) ? Buffer.from(s, 'base64').length : undefined);
  /** The rules of envelope.ts, restated: the exact fields, strict base64, the sizes. */
  function oracle(v: unknown): boolean {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const r = v as Record<string, unknown>;
    if (Object.keys(r).some((k) => !['enc', 'ciphertext', 'sender'].includes(k))) return false;
    if (size(r['enc']) !== 32 || size(r['ciphertext']) === undefined) return false;
    return r['sender'] === undefined || size(r['sender']) === 32;
  }

  it('decodeSealedEnvelope accepts exactly what its rules allow, and round-trips what it accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(envelope, (value) => {
        let decoded: ReturnType<typeof decodeSealedEnvelope> | undefined;
        try {
          decoded = decodeSealedEnvelope(value);
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as InputError).code).toBe('ERR_SEALED_INPUT_MALFORMED');
        }
        expect(decoded !== undefined).toBe(oracle(value));
        if (decoded !== undefined) {
          accepted += 1;
          expect(decodeSealedEnvelope(encodeSealedEnvelope(decoded))).toEqual(decoded);
        }
      }),
      fuzzParams(3),
    );
    expect(accepted).toBeGreaterThan(0);
  });

  let recipient: HpkeRecipient;
  let producer: HpkeKeyPair;
  let stranger: HpkeKeyPair;
  let sealed: { enc: Uint8Array; ciphertext: Uint8Array };
  beforeAll(async () => {
    recipient = await HpkeRecipient.generate();
    producer = await generateHpkeKeyPair();
    stranger = await generateHpkeKeyPair();
    sealed = await sealHpke(recipient.publicKey, CARD, { info: HPKE_INFO.card, senderPrivateKey: producer.privateKey });
  });

  it('opening random and mutated envelopes: typed refusals only; what opens is what was sealed', async () => {
    const policy = (publicSubmission: boolean): SenderPolicy => ({ allowedSenders: [producer.publicKey], publicSubmission });
    let opened = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(edits, edits).map(([a, b]) => ({ enc: mutate(sealed.enc, a).subarray(0, 32), ciphertext: mutate(sealed.ciphertext, b) })),
          fc.record({ enc: fc.uint8Array({ minLength: 32, maxLength: 32 }), ciphertext: fc.uint8Array({ maxLength: 200 }) }),
          fc.constant(null).map(() => ({ enc: sealed.enc, ciphertext: sealed.ciphertext })),
        ),
        fc.constantFrom<'none' | 'producer' | 'stranger'>('none', 'producer', 'stranger'),
        fc.boolean(),
        async (env, sender, publicSubmission) => {
          const envelope = sender === 'none' ? env : { ...env, sender: (sender === 'producer' ? producer : stranger).publicKey };
          let plaintext: Uint8Array | undefined;
          const error = await typedFailure(async () => {
            plaintext = (await openSealedInput(recipient, envelope, { info: HPKE_INFO.card, policy: policy(publicSubmission) })).plaintext;
          });
          if (error !== undefined) {
            expect(['ERR_DECRYPT_FAILED', 'ERR_SENDER_NOT_ALLOWED', 'ERR_SEALED_INPUT_MALFORMED']).toContain(error.code);
            if (sender === 'stranger') expect(error.code).toBe('ERR_SENDER_NOT_ALLOWED');
            return;
          }
          opened += 1;
          expect(Buffer.from(plaintext!).equals(Buffer.from(CARD))).toBe(true);
        },
      ),
      fuzzParams(0.5),
    );
    expect(opened).toBeGreaterThan(0);
  });
});

describe('card records', () => {
  const panLike = fc.oneof(
    fc.constantFrom('4111111111111111', '4111 1111-1111 1111', '378282246310005', '5555555555554444', '411111111111', '4111111111111111111'),
    fc.stringMatching(/^[0-9 -]{0,40}$/),
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.constant(null),
  );
  const record = fc.record(
    {
      pan: panLike,
      exp: fc.oneof(fc.constantFrom('12/39', '01/30', '13/30', '00/30', '1/30', '12/2039', '12-39'), fc.string({ maxLength: 8 }), fc.integer()),
      cvc: fc.oneof(fc.constantFrom('123', '1234', '12', 'abc', null), fc.string({ maxLength: 5 }), fc.integer()),
      name: fc.oneof(fc.constantFrom('Ada Lovelace', '', '   ', 'A\u0000B', 'x'.repeat(101)), fc.string({ maxLength: 30 }), fc.constant(null)),
      extra: fc.string({ maxLength: 4 }),
    },
    { requiredKeys: [] },
  );
  const input = fc.oneof(
    record.map((r) => new TextEncoder().encode(JSON.stringify(r))),
    fc.tuple(record, edits).map(([r, e]) => mutate(new TextEncoder().encode(JSON.stringify(r)), e)),
    fc.uint8Array({ maxLength: 1100 }),
    fc.jsonValue({ maxDepth: 2 }).map((v) => new TextEncoder().encode(JSON.stringify(v) ?? '')),
  );

  it('parseCardRecord: only ERR_INVALID_CARD with a fixed message; accepted records are normalised', () => {
    let accepted = 0;
    fc.assert(
      fc.property(input, (bytes) => {
        const text = Buffer.from(bytes).toString('utf8');
        let card: ReturnType<typeof parseCardRecord> | undefined;
        try {
          card = parseCardRecord(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as InputError).code).toBe('ERR_INVALID_CARD');
          // Fixed texts: no digit run of the input (a PAN, a CVC) in the message or a cause.
          expect((error as InputError).message).not.toMatch(/\d{5,}/);
          expect((error as InputError).cause).toBeUndefined();
          return;
        }
        accepted += 1;
        expect(card.pan).toMatch(/^\d{12,19}$/);
        expect(text.replace(/[ -]/g, '')).toContain(card.pan);
        expect(card.cvc === null || /^\d{3,4}$/.test(card.cvc)).toBe(true);
        expect(card.expiry.month).toBeGreaterThanOrEqual(1);
        expect(card.expiry.month).toBeLessThanOrEqual(12);
        // The record masks itself: a stray log line never shows the PAN.
        expect(JSON.stringify(card)).not.toContain(card.pan);
      }),
      fuzzParams(3),
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
