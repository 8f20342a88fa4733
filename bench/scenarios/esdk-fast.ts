/**
 * Unsigned committing ESDK records (suite 0x0478) opened in this process, three ways, on the same
 * messages with the same in-memory KMS stand-in (a map from wrapped to plaintext data keys: KMS
 * costs nothing here, as with a warm data-key cache), rounds interleaved, 8 in flight each:
 * - ESDK-JS: @aws-crypto/client-node decrypt with a caching CMM (the library at its fastest);
 * - the enclave's openEsdkRecord on the library path (useLibrary: true): walk, rules, then the ESDK;
 * - the enclave's openEsdkRecord on its direct path (enclave/sealed/esdk-fast.ts).
 * Targets: library path ≥ 0.9 × ESDK-JS; direct path ≥ 3 × ESDK-JS (per core: one thread each).
 */
import { buildClient, CommitmentPolicy, getLocalCryptographicMaterialsCache, KmsKeyringNode, NodeCachingMaterialsManager } from '@aws-crypto/client-node';
import { openEsdkRecord } from '../../enclave/sealed/esdk.js';
import { issuingKmsStub } from '../../sim/kms/issuing-stub.js';
import type { BenchCheck, Scenario } from '../main.js';
import { cardJson, testCards } from '../lib/cards.js';
import { libraryDecryptor, SUITES } from '../lib/esdk.js';
import { closedLoop } from '../lib/load.js';
import { interleaveAsync, ratioStats } from '../lib/rounds.js';

const CARD_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const POOL = 512;
const PER_DATA_KEY = 100;
const IN_FLIGHT = 8;
const LIBRARY = 'ESDK-JS decrypt (caching CMM)';
const ENCLAVE_LIBRARY = 'openEsdkRecord, library path';
const ENCLAVE_FAST = 'openEsdkRecord, direct path';

const scenario: Scenario = {
  description: 'unsigned ESDK records in process: ESDK-JS vs the enclave path on the library and on its direct decryption',
  async run({ quick, log }) {
    const kms = issuingKmsStub(CARD_ARN);
    const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const producer = new NodeCachingMaterialsManager({
      backingMaterials: new KmsKeyringNode({ generatorKeyId: CARD_ARN, clientProvider: () => kms as never }),
      cache: getLocalCryptographicMaterialsCache(16),
      maxAge: 60 * 60_000,
      maxMessagesEncrypted: PER_DATA_KEY,
    });
    log(`  sealing ${POOL} cards (unsigned suite), ${PER_DATA_KEY} per data key`);
    const cards = testCards(POOL, 7);
    const messages: Uint8Array[] = [];
    for (const card of cards) {
      const { result } = await esdk.encrypt(producer, cardJson(card), { encryptionContext: { purpose: 'card' }, suiteId: SUITES.unsigned });
      messages.push(new Uint8Array(result));
    }
    const library = libraryDecryptor(kms, CARD_ARN);
    const options = { kms, cardKeyArn: CARD_ARN, requiredContext: { purpose: 'card' }, maxBodyBytes: 4096 };

    // Correctness first: all three give each card back.
    for (const [i, message] of messages.entries()) {
      const expected = Buffer.from(cardJson(cards[i]!));
      const outs = [await library(message), (await openEsdkRecord(message, { ...options, useLibrary: true })).plaintext, (await openEsdkRecord(message, options)).plaintext];
      if (!outs.every((out) => expected.equals(Buffer.from(out)))) throw new Error(`message ${i} did not open to its card`);
    }

    const loop = (open: (message: Uint8Array) => Promise<Uint8Array>) => (sliceMs: number) =>
      closedLoop(
        async (i) => {
          const plaintext = await open(messages[i % POOL]!);
          plaintext.fill(0);
        },
        { concurrency: IN_FLIGHT, durationMs: sliceMs },
      );
    // Slices of 1 s: with 0.4 s ones, the library's and the library path's per-round ratio spread
    // over 0.66-1.30 (a major GC of the ESDK's stream garbage lands in one slice or the next) and
    // their median moved by ±0.1 from run to run, on a true ratio near 1.
    const result = await interleaveAsync(
      {
        [LIBRARY]: loop(library),
        [ENCLAVE_LIBRARY]: loop(async (message) => (await openEsdkRecord(message, { ...options, useLibrary: true })).plaintext),
        [ENCLAVE_FAST]: loop(async (message) => (await openEsdkRecord(message, options)).plaintext),
      },
      { ...(quick ? { rounds: 4, sliceMs: 200, warmupMs: 200 } : { rounds: 10, sliceMs: 1000, warmupMs: 500 }), log },
    );
    const libraryPath = ratioStats(result, ENCLAVE_LIBRARY, LIBRARY);
    const fast = ratioStats(result, ENCLAVE_FAST, LIBRARY);
    const checks: BenchCheck[] = [
      { name: 'unsigned, enclave library path / ESDK-JS', value: libraryPath.median, range: libraryPath.range, target: 0.9, pass: libraryPath.median >= 0.9, detail: '(median of per-round ratios, in process)' },
      { name: 'unsigned, enclave direct path / ESDK-JS', value: fast.median, range: fast.range, target: 3, pass: fast.median >= 3, detail: '(median of per-round ratios, in process, one thread)' },
    ];
    return { rows: result.rows, checks, info: { messages: POOL, recordsPerDataKey: PER_DATA_KEY, inFlight: IN_FLIGHT } };
  },
};

export default scenario;
