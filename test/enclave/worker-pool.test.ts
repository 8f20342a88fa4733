/**
 * The enclave's worker pool (enclave/workers/pool.ts) behind the built-in handlers, against real
 * components: producers seal with the ESDK under a simulated KMS key and with HPKE; the enclave side
 * is an AttestedKms (simulated NSM, CiphertextForRecipient, data-key cache) as the runtime builds it.
 * Same answers with 0, 1 and 2 workers; one KMS Decrypt per data key across workers; public-submission
 * limits exact across workers; tasks of one event-loop turn go out (and come back) in one message,
 * each routed to its caller; a killed worker fails its request(s) with a typed error and is replaced;
 * on close every worker zeroes its key copies and exits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import type { Transferable, Worker } from 'node:worker_threads';
import { runBuiltinTask, type WorkContext } from '../../enclave/app/builtin-work.js';
import { registerBuiltinHandlers, sealedInputContext } from '../../enclave/app/handlers.js';
import { sealedInputSchema, type SealedInput } from '../../enclave/app/sealed-input.js';
import { HandlerRegistry } from '../../enclave/app/registry.js';
import { cardBucketKey } from '../../enclave/cards/rate-limit.js';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { KeyRing } from '../../enclave/key-ring.js';
import type { EnclaveServices } from '../../enclave/runtime.js';
import { MAX_START_FAILURES, poolForServices, WorkerPool } from '../../enclave/workers/pool.js';
import { InputError } from '../../shared/errors.js';
import { generateHpkeKeyPair, HpkeRecipient, sealedInputInfo, sealHpke, type HpkeKeyPair } from '../../shared/hpke/index.js';
import { KmsRsaSealer } from '../../client/kms-rsa.js';
import { codeOf } from '../helpers/code-of.js';
import { createKmsRsaKey, esdkClientProvider, type KmsRsaTestKey, startSealedHarness, type SealedHarness, type TestEnclave } from '../sealed/harness.js';

const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const producerClient = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const card = (pan: string): Uint8Array => text(JSON.stringify({ pan, exp: '12/30' }));
const ctx = { signal: new AbortController().signal };

let h: SealedHarness;
let producer: KMS;
let hpke: HpkeRecipient;
let sender: HpkeKeyPair;
const TOKEN_KEY = new Uint8Array(32).fill(7);
const INDEX_KEY = new Uint8Array(32).fill(11);

beforeAll(async () => {
  h = await startSealedHarness();
  producer = h.kmsFor('client');
  hpke = await HpkeRecipient.generate();
  sender = await generateHpkeKeyPair();
}, 60_000);

afterAll(async () => {
  hpke?.dispose();
  sender?.privateKey.fill(0);
  await h?.close();
});

interface Enclave {
  call(op: string, body: unknown): Promise<unknown>;
  pool: WorkerPool | undefined;
  kms: TestEnclave;
  close(): Promise<void>;
}

/** The built-in handlers as the runtime wires them, with `workers` threads (0: no pool). */
async function enclave(workers: number, options: { publicSubmission?: Record<string, unknown>; now?: () => number; kms?: TestEnclave; rsaKey?: KmsRsaTestKey['pin'] } = {}): Promise<Enclave> {
  const config = parseEnclaveConfig({
    kms: { region: 'us-east-1' },
    workers,
    cards: {
      // The key whose policy lets producers seal under any context: every operation's inputs.
      cardKeyArn: h.looseKeyArn,
      hpkeSenders: [Buffer.from(sender.publicKey).toString('base64')],
      publicSubmission: options.publicSubmission ?? { enabled: false },
      ...(options.rsaKey === undefined ? {} : { rsaKey: options.rsaKey }),
    },
  });
  const kms = options.kms ?? (await h.enclave());
  const keys = new KeyRing();
  keys.set('tokenization', TOKEN_KEY.slice());
  keys.set('blind-index', INDEX_KEY.slice());
  const base = { identity: { hpke }, kms: kms.kms, keys };
  const pool = workers === 0 ? undefined : poolForServices(base, config.cards!, workers);
  const services = { ...base, ...(pool === undefined ? {} : { workers: pool }) } as unknown as EnclaveServices;
  const registry = new HandlerRegistry();
  registerBuiltinHandlers(registry, services, config, options.now);
  return {
    call: (op, body) => registry.dispatch(op, body, ctx),
    pool,
    kms,
    async close() {
      await pool?.close();
      keys.clear();
      kms.close();
    },
  };
}

async function sealEsdk(plaintext: Uint8Array, context: Record<string, string>, suiteId = UNSIGNED, cmm?: NodeCachingMaterialsManager): Promise<Uint8Array> {
  const keyring = cmm ?? new KmsKeyringNode({ generatorKeyId: h.looseKeyArn, clientProvider: esdkClientProvider(producer) });
  return new Uint8Array((await producerClient.encrypt(keyring, plaintext, { encryptionContext: context, suiteId })).result);
}

/** A caching CMM: every message it seals shares one data key. */
function sharedDataKey(): NodeCachingMaterialsManager {
  return new NodeCachingMaterialsManager({
    backingMaterials: new KmsKeyringNode({ generatorKeyId: h.looseKeyArn, clientProvider: esdkClientProvider(producer) }),
    cache: getLocalCryptographicMaterialsCache(10),
    maxAge: 10 * 60_000,
    maxMessagesEncrypted: 10_000,
  });
}

async function sealAuth(plaintext: Uint8Array, purpose: string, field?: string): Promise<{ hpke: { enc: Uint8Array; ciphertext: Uint8Array; sender: Uint8Array } }> {
  const sealed = await sealHpke(hpke.publicKey, plaintext, { info: sealedInputInfo(purpose, field), senderPrivateKey: sender.privateKey });
  return { hpke: { ...sealed, sender: sender.publicKey } };
}

async function sealBase(plaintext: Uint8Array): Promise<{ hpke: { enc: Uint8Array; ciphertext: Uint8Array } }> {
  return { hpke: await sealHpke(hpke.publicKey, plaintext, { info: sealedInputInfo('card') }) };
}

/** What a call came to: its value or its error's code and message (what the parent would see). */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await promise };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code, message };
  }
}

describe('the worker pool gives the same answers as the main thread', () => {
  it('tokens, digests, redactions and typed errors with 0, 1 and 2 workers', async () => {
    const shared = sharedDataKey();
    const batch = [
      await sealAuth(card('4111111111111111'), 'card'),
      { esdk: await sealEsdk(card('5555555555554444'), { purpose: 'card' }, UNSIGNED, shared) },
      { esdk: await sealEsdk(card('378282246310005'), { purpose: 'card' }, SIGNED) },
      { esdk: await sealEsdk(card('6011111111111117'), { purpose: 'card' }, UNSIGNED, shared) },
      // Refused items: another operation's input, a malformed record, a wrong context, garbage.
      await sealAuth(card('4111111111111111'), 'pii-text'),
      await sealAuth(text('{"pan":"12"}'), 'card'),
      { esdk: await sealEsdk(card('4111111111111111'), { purpose: 'pii-text' }) },
      { esdk: new Uint8Array([1, 2, 3]) },
    ];
    const single = [batch[0]!, batch[2]!, batch[4]!, batch[5]!, batch[7]!, await sealBase(card('4012888888881881'))];
    const texts = [await sealAuth(text('mail jane@example.com, SSN 536-22-1184'), 'pii-text'), { esdk: await sealEsdk(text('call (415) 555-0132'), { purpose: 'pii-text' }) }, await sealAuth(new Uint8Array([0xff, 0xfe]), 'pii-text')];
    const emails = [await sealAuth(text('Jane@Example.com'), 'pii-value', 'email'), await sealAuth(text('jane@example.com'), 'pii-value', 'phone'), { esdk: await sealEsdk(text('jane@example.com '), { purpose: 'pii-value', field: 'email' }) }];

    const answers: unknown[] = [];
    for (const workers of [0, 1, 2]) {
      const e = await enclave(workers);
      try {
        const got: unknown[] = [];
        got.push(await outcome(e.call('cards.tokenize-batch', { cards: batch })));
        for (const item of single) got.push(await outcome(e.call('cards.tokenize', { card: item })));
        for (const item of texts) got.push(await outcome(e.call('pii.redact', { text: item })));
        got.push(await outcome(e.call('pii.blind-index', { field: 'email', values: emails })));
        answers.push(got);
      } finally {
        await e.close();
      }
    }
    // Something to compare: tokens, each kind of error, redactions and digests are all there.
    const flat = JSON.stringify(answers[0]);
    for (const expected of ['"token":"411111', 'ERR_DECRYPT_FAILED', 'ERR_INVALID_CARD', 'ERR_ENCRYPTION_CONTEXT', 'ERR_SEALED_INPUT_MALFORMED', 'ERR_SENDER_NOT_ALLOWED', '[EMAIL]', '"digest"']) {
      expect(flat).toContain(expected);
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  }, 120_000);
});

describe('the main thread keeps what must be counted once', () => {
  it('one KMS Decrypt per data key with 2 workers and concurrent first requests', async () => {
    const shared = sharedDataKey();
    const messages: Uint8Array[] = [];
    // One at a time: the producer's cache then hands every message the same data key.
    for (let i = 0; i < 24; i++) messages.push(await sealEsdk(card(`41111111111${String(i).padStart(5, '0')}`), { purpose: 'card' }, UNSIGNED, shared));
    const e = await enclave(2);
    try {
      // A batch shared by both workers plus single requests, all before any data key is cached.
      const [batch, ...singles] = await Promise.all([
        e.call('cards.tokenize-batch', { cards: messages.slice(0, 16).map((esdk) => ({ esdk })) }) as Promise<{ results: { token?: string }[] }>,
        ...messages.slice(16).map((esdk) => e.call('cards.tokenize', { card: { esdk } }) as Promise<{ token?: string }>),
      ]);
      expect([...batch!.results, ...singles].every((r) => typeof r.token === 'string')).toBe(true);
      expect(e.kms.calls).toEqual({ Decrypt: 1 });
      expect(e.kms.kms.cache.stats()).toMatchObject({ loads: 1, hits: 23 });
    } finally {
      await e.close();
    }
  }, 60_000);

  it('a worker asks for a data key with the wrapped key alone, not the buffer of inputs it arrived in', async () => {
    const blobs: Uint8Array[] = [];
    const recording = await enclaveKmsBefore(async (input) => {
      blobs.push(input.CiphertextBlob!);
    });
    // A kmsRsa input's wrapped secret is a view into the input (parseKmsRsaSealed), which on a
    // worker is a view into the tasks message; ESDK data keys reach KMS as the ESDK's own copies.
    const rsa = await createKmsRsaKey(h);
    const e = await enclave(1, { kms: recording, rsaKey: rsa.pin });
    try {
      // Four data keys (no shared producer cache) and two kmsRsa secrets, in one tasks message.
      const inputs: ({ esdk: Uint8Array } | { kmsRsa: Uint8Array })[] = [];
      for (let i = 0; i < 4; i++) inputs.push({ esdk: await sealEsdk(card(`41111111111${String(i).padStart(5, '0')}`), { purpose: 'card' }) });
      for (let i = 0; i < 2; i++) inputs.push({ kmsRsa: new KmsRsaSealer(rsa.spki, { maxMessages: 1 }).seal(card('5555555555554444'), { purpose: 'card' }) });
      const batch = (await e.call('cards.tokenize-batch', { cards: inputs })) as { results: { token?: string }[] };
      expect(batch.results.map((r) => typeof r.token)).toEqual(inputs.map(() => 'string'));
      expect(blobs).toHaveLength(6);
      for (const blob of blobs) expect(blob.buffer.byteLength).toBe(blob.byteLength);
    } finally {
      await e.close();
    }
  }, 60_000);

  it('public-submission limits hold exactly across 2 workers (per card and overall)', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    // The clock stands still: no bucket refills during the test.
    const e = await enclave(2, { publicSubmission: { enabled: true, perCardBurst: 5, overallBurst: 9 }, now: () => t0 });
    try {
      // 12 anonymous submissions of one (BIN, last 4), at once: single calls and a batch.
      const same = await Promise.all(Array.from({ length: 12 }, () => sealBase(card('4111111111111111'))));
      const singles = await Promise.all(same.slice(0, 6).map((item) => codeOf(e.call('cards.tokenize', { card: item }))));
      const batch = (await e.call('cards.tokenize-batch', { cards: same.slice(6) })) as { results: ({ token: string } | { error: { code: string } })[] };
      const codes = [...singles, ...batch.results.map((r) => ('error' in r ? r.error.code : 'ok'))];
      expect(codes.filter((c) => c === 'ok')).toHaveLength(5);
      expect(codes.filter((c) => c === 'ERR_RATE_LIMITED')).toHaveLength(7);
      // The overall bucket (9) had 5 taken: 4 more of other cards pass, the rest are refused.
      const others = await Promise.all(['4012888888881881', '5555555555554444', '5105105105105100', '6011111111111117', '6011000990139424', '4242424242424242'].map((pan) => sealBase(card(pan))));
      const otherCodes = await Promise.all(others.map((item) => codeOf(e.call('cards.tokenize', { card: item }))));
      expect(otherCodes.filter((c) => c === 'ok')).toHaveLength(4);
      expect(otherCodes.filter((c) => c === 'ERR_RATE_LIMITED')).toHaveLength(2);
    } finally {
      await e.close();
    }
  }, 60_000);
  it('an anonymous card is tokenized only after its bucket is taken: a refused one costs no FF1 work', async () => {
    const config = parseEnclaveConfig({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: h.looseKeyArn, publicSubmission: { enabled: true } } });
    const kms = await h.enclave();
    const taken: string[] = [];
    let tokenizers = 0;
    let refuse = true;
    const ctx: WorkContext = {
      sealed: sealedInputContext({ kms: kms.kms, identity: { hpke } }, config.cards!),
      tokenizer: () => {
        tokenizers += 1;
        return new Tokenizer(TOKEN_KEY.slice());
      },
      indexer: () => {
        throw new Error('not used by tokenize');
      },
      now: Date.now,
      takeRate: (bucketKey) => {
        taken.push(bucketKey);
        if (refuse) throw new InputError('ERR_RATE_LIMITED', 'rate limit exceeded');
      },
    };
    try {
      // As the handler's schema hands it over.
      const anonymous = async (): Promise<SealedInput> => sealedInputSchema.parse(await sealBase(card('4111111111111111')));
      const [refused] = await runBuiltinTask({ op: 'tokenize', items: [await anonymous()] }, ctx);
      expect(refused !== undefined && 'error' in refused ? refused.error.code : 'ok').toBe('ERR_RATE_LIMITED');
      expect(taken).toEqual([cardBucketKey('4111111111111111')]);
      expect(tokenizers).toBe(0);
      refuse = false;
      const [allowed] = await runBuiltinTask({ op: 'tokenize', items: [await anonymous()] }, ctx);
      expect(allowed !== undefined && 'value' in allowed ? (allowed.value as { last4: string }).last4 : allowed).toBe('1111');
      expect(tokenizers).toBe(1);
    } finally {
      kms.close();
    }
  }, 60_000);
});

/**
 * An enclave KMS whose every Decrypt waits until the test releases it: `waiting` holds the release
 * of each call that has arrived, and `onArrival` (settable) runs as each one arrives.
 */
async function gatedKms(): Promise<{ gated: TestEnclave; waiting: (() => void)[]; onArrival: { run: () => void } }> {
  const waiting: (() => void)[] = [];
  const onArrival = { run: (): void => undefined };
  const gated = await enclaveKmsBefore(
    () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        onArrival.run();
      }),
  );
  return { gated, waiting, onArrival };
}

type DecryptInput = Parameters<TestEnclave['kms']['decrypt']>[0];

/** A test enclave's KMS whose every Decrypt first runs (and awaits) `before` with the request. */
async function enclaveKmsBefore(before: (input: DecryptInput) => Promise<void>): Promise<TestEnclave> {
  const real = await h.enclave();
  return {
    ...real,
    kms: {
      ...real.kms,
      cache: real.kms.cache,
      decrypt: async (input: DecryptInput) => {
        await before(input);
        return real.kms.decrypt(input);
      },
    } as unknown as TestEnclave['kms'],
  };
}

/**
 * Runs `test` on an enclave with `workers` threads whose data-key requests wait at the gate until
 * released; whatever still waits is released, and the enclave closed, afterwards.
 */
async function withGatedEnclave(workers: number, test: (e: Enclave, gate: { waiting: (() => void)[]; onArrival: { run: () => void } }) => Promise<void>): Promise<void> {
  const { gated, waiting, onArrival } = await gatedKms();
  const e = await enclave(workers, { kms: gated });
  await e.pool!.whenReady();
  try {
    await test(e, { waiting, onArrival });
  } finally {
    for (const release of waiting.splice(0)) release();
    await e.close();
  }
}

/** Every message the main thread posts to `thread`, as posted (the pool's messages to one worker). */
function recordPosts(thread: Worker): { type: string; tasks?: unknown[] }[] {
  const posted: { type: string; tasks?: unknown[] }[] = [];
  const post = thread.postMessage.bind(thread);
  thread.postMessage = (message: { type: string; tasks?: unknown[] }, transfer?: readonly Transferable[]) => {
    posted.push(message);
    post(message, transfer as Transferable[]);
  };
  return posted;
}

describe('tasks of one event-loop turn travel together', () => {
  it('one message each way; every caller gets its own card back, and a bad item fails alone', async () => {
    const pans = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '4012888888881881'];
    const good = await Promise.all(pans.map((pan) => sealAuth(card(pan), 'card')));
    const bad = await sealAuth(card('4111111111111111'), 'pii-text');
    const e = await enclave(1);
    await e.pool!.whenReady();
    try {
      const [thread] = e.pool!.threads();
      const posted = recordPosts(thread!);
      const replies: { type: string; results?: unknown[] }[] = [];
      thread!.on('message', (message: { type: string; results?: unknown[] }) => replies.push(message));
      // Started in one turn, as the requests that one reply releases are: the bad one in the middle.
      const calls = [...good.slice(0, 2), bad, ...good.slice(2)].map((item) => outcome(e.call('cards.tokenize', { card: item })));
      const [batch] = await Promise.all([e.call('cards.tokenize-batch', { cards: [good[4]!, bad, good[0]!] }) as Promise<{ results: unknown[] }>, ...calls]);
      const answers = await Promise.all(calls);
      expect(posted.map((m) => [m.type, m.tasks?.length])).toEqual([['tasks', 7]]);
      expect(replies.map((m) => [m.type, m.results?.length])).toEqual([['results', 7]]);
      // Each caller's answer is its own card's (a token keeps the BIN and last 4).
      const mine = (answer: unknown, pan: string): void => expect(answer).toMatchObject({ ok: { bin: pan.slice(0, 6), last4: pan.slice(-4) } });
      [0, 1].forEach((i) => mine(answers[i], pans[i]!));
      expect(answers[2]).toMatchObject({ code: 'ERR_DECRYPT_FAILED' });
      [2, 3, 4].forEach((i) => mine(answers[i + 1], pans[i]!));
      expect(batch.results).toMatchObject([{ bin: '401288', last4: '1881' }, { error: { code: 'ERR_DECRYPT_FAILED' } }, { bin: '411111', last4: '1111' }]);
      expect(e.pool!.stats()).toMatchObject({ inFlightItems: 0 });
    } finally {
      await e.close();
    }
  }, 60_000);

  it('a worker answers a long message in parts as it goes, and a task waiting for a data key holds none up', async () => {
    await withGatedEnclave(1, async (e, { waiting, onArrival }) => {
      const pans = Array.from({ length: 40 }, (_, i) => `41111111111${String(i).padStart(5, '0')}`);
      const cards = await Promise.all(pans.map((pan) => sealAuth(card(pan), 'card')));
      const esdk = await sealEsdk(card('5555555555554444'), { purpose: 'card' });
      const [thread] = e.pool!.threads();
      const posted = recordPosts(thread!);
      const replies: number[] = [];
      thread!.on('message', (message: { type: string; results?: unknown[] }) => {
        if (message.type === 'results') replies.push(message.results!.length);
      });
      const gatedCall = outcome(e.call('cards.tokenize', { card: { esdk } }));
      const calls = cards.map((item) => outcome(e.call('cards.tokenize', { card: item })));
      const answers = await Promise.all(calls);
      // One message out; back in parts of at most 16 items' worth, while the ESDK card still waits.
      expect(posted.map((m) => [m.type, m.tasks?.length])).toEqual([['tasks', 41]]);
      expect(replies).toEqual([15, 16, 9]);
      expect(waiting).toHaveLength(1);
      answers.forEach((answer, i) => expect(answer).toMatchObject({ ok: { last4: pans[i]!.slice(-4) } }));
      waiting.shift()!();
      onArrival.run = () => waiting.shift()?.();
      expect(await gatedCall).toMatchObject({ ok: { last4: '4444' } });
      expect(replies).toEqual([15, 16, 9, 1]);
    });
  }, 60_000);

  it('a worker that dies with a message of several tasks in flight fails every one of them', async () => {
    await withGatedEnclave(1, async (e, { waiting, onArrival }) => {
      const messages = await Promise.all(['4111111111111111', '5555555555554444', '6011111111111117'].map((pan) => sealEsdk(card(pan), { purpose: 'card' })));
      const [thread] = e.pool!.threads();
      const posted = recordPosts(thread!);
      const allArrived = new Promise<void>((resolve) => {
        onArrival.run = () => {
          if (waiting.length === messages.length) resolve();
        };
      });
      const calls = messages.map((esdk) => outcome(e.call('cards.tokenize', { card: { esdk } })));
      // Every task of the one message is inside the worker, waiting for its data key.
      await allArrived;
      expect(posted.map((m) => [m.type, m.tasks?.length])).toEqual([['tasks', 3]]);
      await thread!.terminate();
      for (const release of waiting.splice(0)) release();
      const failed = { code: 'ERR_INTERNAL', message: 'an enclave worker stopped before answering' };
      expect(await Promise.all(calls)).toEqual([failed, failed, failed]);
      expect(e.pool!.stats()).toMatchObject({ restarts: 1, inFlightItems: 0 });
      onArrival.run = () => waiting.shift()?.();
      expect(await e.call('cards.tokenize', { card: { esdk: messages[0]! } })).toMatchObject({ last4: '1111' });
    });
  }, 60_000);
});

describe('worker failure and shutdown', () => {
  it('a worker killed mid-request fails that request with a typed 5xx; the others and the next request succeed', async () => {
    // Data-key requests wait here until released, so requests are in flight inside the workers.
    await withGatedEnclave(2, async (e, { waiting, onArrival }) => {
      const [first, second] = [await sealEsdk(card('4111111111111111'), { purpose: 'card' }), await sealEsdk(card('5555555555554444'), { purpose: 'card' })];
      const twoArrived = new Promise<void>((resolve) => {
        onArrival.run = () => {
          if (waiting.length === 2) resolve();
        };
      });
      // The least loaded worker takes each: one request per worker.
      const a = outcome(e.call('cards.tokenize', { card: { esdk: first } }));
      const b = outcome(e.call('cards.tokenize', { card: { esdk: second } }));
      await twoArrived;
      const [victim] = e.pool!.threads();
      await victim!.terminate();
      for (const release of waiting.splice(0)) release();
      const results = [await a, await b];
      expect(results).toContainEqual({ code: 'ERR_INTERNAL', message: 'an enclave worker stopped before answering' });
      expect(results.filter((r) => (r as { ok?: { token?: string } }).ok?.token !== undefined)).toHaveLength(1);
      expect(e.pool!.stats()).toMatchObject({ restarts: 1 });
      // The replacement starts with the keys: HPKE and ESDK requests on every worker succeed.
      onArrival.run = () => waiting.shift()?.();
      const next = await Promise.all([
        e.call('cards.tokenize-batch', { cards: [await sealAuth(card('4111111111111111'), 'card'), await sealAuth(card('4012888888881881'), 'card')] }),
        e.call('cards.tokenize', { card: { esdk: first } }),
      ]);
      expect(JSON.stringify(next)).not.toContain('error');
      expect(e.pool!.stats()).toMatchObject({ live: 2, inFlightItems: 0 });
    });
  }, 60_000);

  /** A pool of `size` workers whose n-th start gets `keyFor(n)` as its HPKE private key (a 5-byte one fails the start). */
  function startingPool(size: number, keyFor: (start: number) => Uint8Array, fatal: string[], exits: boolean[], events: string[] = [], startTimeoutMs?: number): WorkerPool {
    const config = parseEnclaveConfig({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: h.looseKeyArn, hpkeSenders: [Buffer.from(sender.publicKey).toString('base64')] } });
    let starts = 0;
    const pool = new WorkerPool({
      size,
      cards: config.cards!,
      hpkePrivateKey: () => keyFor(starts++),
      loadedKeys: () => new Map([['tokenization', TOKEN_KEY.slice()]]),
      decrypt: () => Promise.reject(new Error('no data key is asked for here')),
      log: (event, fields) => {
        events.push(event);
        if (event === 'worker-exit') exits.push(fields.ready === true);
      },
      onFatal: (error) => fatal.push(`${error.code}: ${error.message}`),
      respawnDelayMs: 10,
      ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }),
    });
    pool.start({ takeRate: () => undefined });
    return pool;
  }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('workers that die before they are ready are not replaced forever: once every slot has failed three times, one fatal error and no task taken', async () => {
    const fatal: string[] = [];
    const exits: boolean[] = [];
    // A 5-byte HPKE private key: every worker fails while it starts, as a broken build would.
    const pool = startingPool(2, () => new Uint8Array(5), fatal, exits);
    try {
      // Starting for the first time: tasks would wait for them, so the pool counts as serving.
      expect(pool.canServe()).toBe(true);
      for (let i = 0; i < 1000 && (fatal.length === 0 || pool.stats().live > 0); i += 1) await sleep(50);
      expect(fatal).toEqual([`ERR_INTERNAL: no enclave worker thread can start (each of 2 failed ${MAX_START_FAILURES} times in a row)`]);
      expect(exits.length).toBeGreaterThanOrEqual(2 * MAX_START_FAILURES);
      expect(exits.every((ready) => !ready)).toBe(true);
      // Nothing is started again: no thread is left, none comes back.
      const exitsAtFatal = exits.length;
      await sleep(200);
      expect(pool.stats()).toMatchObject({ live: 0, ready: 0 });
      expect(pool.canServe()).toBe(false);
      expect(exits).toHaveLength(exitsAtFatal);
      expect(await codeOf(pool.run({ op: 'tokenize', items: [sealedInputSchema.parse(await sealAuth(card('4111111111111111'), 'card'))] }))).toBe('ERR_NOT_READY');
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a worker that is not ready by its start deadline is stopped and counted as a failed start', async () => {
    const fatal: string[] = [];
    const exits: boolean[] = [];
    const events: string[] = [];
    // A valid key, but a 1 ms deadline: no worker loads that fast, so each start times out.
    const pool = startingPool(1, () => hpke.exportPrivateKey(), fatal, exits, events, 1);
    try {
      for (let i = 0; i < 1000 && fatal.length === 0; i += 1) await sleep(50);
      expect(events.filter((event) => event === 'worker-start-timeout')).toHaveLength(MAX_START_FAILURES);
      expect(fatal).toEqual([`ERR_INTERNAL: no enclave worker thread can start (each of 1 failed ${MAX_START_FAILURES} times in a row)`]);
      expect(pool.canServe()).toBe(false);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a slot that keeps failing to start is retried while a working slot serves: no fatal error', async () => {
    const fatal: string[] = [];
    const exits: boolean[] = [];
    // The first start gets the real key (hpke's, so cards sealed to it open); every later one fails.
    const real = hpke.exportPrivateKey();
    const pool = startingPool(2, (start) => (start === 0 ? real : new Uint8Array(5)), fatal, exits);
    try {
      // Bounded by the test's timeout: each retry loads a worker through tsx, slow on a busy machine.
      for (let i = 0; i < 1000 && exits.length < MAX_START_FAILURES + 2; i += 1) await sleep(50);
      expect(exits.length).toBeGreaterThanOrEqual(MAX_START_FAILURES + 2);
      expect(fatal).toEqual([]);
      expect(pool.stats()).toMatchObject({ ready: 1 });
      expect(pool.canServe()).toBe(true);
      const [outcome] = await pool.run({ op: 'tokenize', items: [sealedInputSchema.parse(await sealAuth(card('4111111111111111'), 'card'))] });
      expect(outcome).toMatchObject({ value: { last4: '1111' } });
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('on close every worker zeroes its key copies and exits; repeated key loads do not pile up copies', async () => {
    const e = await enclave(2);
    const pool = e.pool!;
    try {
      expect(await codeOf(e.call('cards.tokenize', { card: await sealAuth(card('4111111111111111'), 'card') }))).toBe('ok');
      // Copies of the same keys sent again and again (a parent repeating keys.load): each worker
      // zeroes them on arrival and tracks none of them, so its memory does not grow.
      for (let i = 0; i < 20; i++) pool.loadKeys();
      const threads = pool.threads();
      expect(threads).toHaveLength(2);
      const exits = threads.map((thread) => new Promise<number>((resolve) => thread.once('exit', resolve)));
      const reports = await pool.close();
      await Promise.all(exits);
      // Each held the HPKE key copy and one copy of each long-lived key: all zero now.
      expect(reports).toEqual([
        { keyBuffers: 3, nonZeroBytes: 0 },
        { keyBuffers: 3, nonZeroBytes: 0 },
      ]);
      expect(await codeOf(e.call('cards.tokenize', { card: await sealAuth(card('4111111111111111'), 'card') }))).toBe('ERR_NOT_READY');
    } finally {
      await e.close();
    }
  }, 60_000);
});
