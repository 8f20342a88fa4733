/**
 * The enclave's data-key cache: KMS calls per 10,000 ESDK records that share one data
 * key, opened one after another (target: 1), and the same with the first 100 records arriving at
 * once on a cold cache (single-flight: still 1).
 *
 * Real components in this process (test/sealed/harness.ts): the KMS simulator over HTTPS, a card
 * key whose policy admits only an attested enclave, an AttestedKms on a SimulatedNsm (each KMS call
 * carries a fresh attestation document and comes back as CMS for the enclave's RSA key), and
 * openEsdkRecord, the enclave's ESDK path. The producer seals with a caching CMM that serves all
 * 10,000 records from one data key. The unsigned committing suite keeps sealing 10,000 records
 * quick; the suite does not change how many data keys there are. Each repeat uses a fresh enclave,
 * so every cache starts cold.
 */
import { buildClient, CommitmentPolicy, getLocalCryptographicMaterialsCache, KmsKeyringNode, NodeCachingMaterialsManager } from '@aws-crypto/client-node';
import { openEsdkRecord } from '../../enclave/sealed/esdk.js';
import { esdkClientProvider, startSealedHarness } from '../../test/sealed/harness.js';
import { median, type Scenario } from '../main.js';
import { cardJson, testCards } from '../lib/cards.js';
import { distinctDataKeys, SUITES } from '../lib/esdk.js';
import { figure } from '../lib/rounds.js';

const RECORDS = 10_000;
const FIRST_AT_ONCE = 100;
/** After the first wave, records go through 8 at a time (as a batch does in the enclave). */
const STEADY_CONCURRENCY = 8;

const scenario: Scenario = {
  description: 'data-key cache: KMS calls per 10,000 records under one data key (sequential, and 100 concurrent first requests)',
  async run({ quick, log }) {
    const repeats = quick ? 1 : 3;
    const h = await startSealedHarness();
    try {
      log(`  sealing ${RECORDS} records under one data key (caching CMM)`);
      const producer = h.kmsFor('client');
      const cmm = new NodeCachingMaterialsManager({
        backingMaterials: new KmsKeyringNode({ generatorKeyId: h.cardKeyArn, clientProvider: esdkClientProvider(producer) }),
        cache: getLocalCryptographicMaterialsCache(4),
        maxAge: 60 * 60_000,
        maxMessagesEncrypted: RECORDS,
      });
      const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const messages: Uint8Array[] = [];
      for (const card of testCards(RECORDS, 11)) {
        messages.push(new Uint8Array((await esdk.encrypt(cmm, cardJson(card), { encryptionContext: { purpose: 'card' }, suiteId: SUITES.unsigned })).result));
      }
      const dataKeys = distinctDataKeys(messages);
      if (dataKeys !== 1) throw new Error(`expected one data key, the producer used ${dataKeys}`);

      const open = (kms: Parameters<typeof openEsdkRecord>[1]['kms'], message: Uint8Array): Promise<void> =>
        openEsdkRecord(message, { kms, cardKeyArn: h.cardKeyArn, requiredContext: { purpose: 'card' }, maxBodyBytes: 1024 }).then((r) => void r.plaintext.fill(0));
      const drain = async (kms: Parameters<typeof openEsdkRecord>[1]['kms'], from: number): Promise<void> => {
        let next = from;
        await Promise.all(
          Array.from({ length: STEADY_CONCURRENCY }, async () => {
            while (next < RECORDS) await open(kms, messages[next++]!);
          }),
        );
      };

      const sequentialCalls: number[] = [];
      const sequentialRates: number[] = [];
      const burstCalls: number[] = [];
      const burstRates: number[] = [];
      const burstFirstMs: number[] = [];
      for (let repeat = 0; repeat < repeats; repeat += 1) {
        {
          const enclave = await h.enclave();
          const start = performance.now();
          for (const message of messages) await open(enclave.kms, message);
          sequentialRates.push(RECORDS / ((performance.now() - start) / 1000));
          sequentialCalls.push(enclave.calls.Decrypt ?? 0);
          enclave.close();
        }
        {
          const enclave = await h.enclave();
          const start = performance.now();
          // 100 requests for the same cold key at once: one KMS call, the rest wait for it.
          await Promise.all(messages.slice(0, FIRST_AT_ONCE).map((message) => open(enclave.kms, message)));
          burstFirstMs.push(performance.now() - start);
          await drain(enclave.kms, FIRST_AT_ONCE);
          burstRates.push(RECORDS / ((performance.now() - start) / 1000));
          burstCalls.push(enclave.calls.Decrypt ?? 0);
          enclave.close();
        }
        log(`    repeat ${repeat + 1}/${repeats}: Decrypt calls ${sequentialCalls.at(-1)} (sequential), ${burstCalls.at(-1)} (100 at once first)`);
      }
      const worst = (calls: number[]): number => Math.max(...calls);
      return {
        rows: [
          { name: `${RECORDS} records, one after another`, opsPerSec: median(sequentialRates), meanUs: 1e6 / median(sequentialRates), ops: RECORDS * repeats, range: [Math.min(...sequentialRates), Math.max(...sequentialRates)], unit: 'record opened (openEsdkRecord)' },
          { name: `${RECORDS} records, first ${FIRST_AT_ONCE} at once`, opsPerSec: median(burstRates), meanUs: 1e6 / median(burstRates), ops: RECORDS * repeats, range: [Math.min(...burstRates), Math.max(...burstRates)], unit: 'record opened (openEsdkRecord)' },
        ],
        figures: [
          figure(`KMS Decrypt calls per ${RECORDS} records (sequential)`, 'calls', sequentialCalls),
          figure(`KMS Decrypt calls per ${RECORDS} records (${FIRST_AT_ONCE} concurrent first)`, 'calls', burstCalls),
          figure(`time for the first ${FIRST_AT_ONCE} concurrent records (one KMS round trip)`, 'ms', burstFirstMs),
        ],
        checks: [
          { name: 'KMS calls per data key, sequential (worst repeat)', value: worst(sequentialCalls), target: 1, comparison: '≤', pass: worst(sequentialCalls) === 1, detail: `(${repeats} repeats, fresh cache each)` },
          { name: `KMS calls per data key, ${FIRST_AT_ONCE} concurrent first (worst repeat)`, value: worst(burstCalls), target: 1, comparison: '≤', pass: worst(burstCalls) === 1, detail: `(${repeats} repeats, fresh cache each)` },
        ],
        info: { records: RECORDS, dataKeys, suite: '0x0478 (committing, unsigned)', sequentialCalls, burstCalls, sequentialRates, burstRates, burstFirstMs },
      };
    } finally {
      await h.close();
    }
  },
};

export default scenario;
