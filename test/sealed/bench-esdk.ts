/**
 * Records/s for opening ESDK messages in the enclave (openEsdkRecord over AttestedKms with a warm
 * data-key cache) against @aws-crypto/client-node decrypting the same messages in process with a
 * plain strict KMS keyring made once:
 *   - plainKeyringAttestedKms: over the same AttestedKms and warm cache: the ratio is what
 *     openEsdkRecord itself adds (structure walk, rules, error capture);
 *   - plainKeyringInProcessKms: over a client that hands back the data key at no cost: also counts
 *     the attested client's cache lookup;
 *   - plainKeyringSdkKmsHttps: the ordinary SDK client against the simulator, one Decrypt per
 *     message (no caching): what the data-key cache saves.
 * Messages come from a producer with a caching CMM, so they share one data key, as a batch would.
 *
 *   npx tsx test/sealed/bench-esdk.ts [--signed N] [--unsigned N] [--rounds R]
 *
 * Prints one JSON object. Not a test: timing belongs outside vitest (BRIEF rule 4).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from '@aws-crypto/client-node';
import type { KMS } from '@aws-sdk/client-kms';
import { openEsdkRecord, type EsdkDecryptInput } from '../../enclave/sealed/esdk.js';
import { esdkClientProvider, startSealedHarness } from './harness.js';

const { values } = parseArgs({
  options: { signed: { type: 'string', default: '300' }, unsigned: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '3' } },
});
const SUITES = [
  { name: 'signed 0x0578', id: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, n: Number(values.signed) },
  { name: 'unsigned 0x0478', id: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY, n: Number(values.unsigned) },
];
const ROUNDS = Number(values.rounds);
const RECORD = (i: number): Uint8Array => new TextEncoder().encode(`{"pan":"41111111111${String(i % 100_000).padStart(5, '0')}","exp":"12/30","cvc":"123"}`);

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

async function recordsPerSecond(messages: readonly Uint8Array[], open: (m: Uint8Array) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (const message of messages) await open(message);
  return (messages.length * 1000) / (performance.now() - start);
}

const CHUNK = 25;

const h = await startSealedHarness();
try {
  const producer = h.kmsFor('client');
  const enclave = await h.enclave();
  const results: Record<string, unknown>[] = [];
  for (const suite of SUITES) {
    // The loose key's policy is the card key's without the context condition; the HTTPS baseline
    // needs a key a plain (unattested) principal may Decrypt: the default-policy key.
    const seal = async (keyArn: string): Promise<Uint8Array[]> => {
      const cmm = new NodeCachingMaterialsManager({
        backingMaterials: new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: esdkClientProvider(producer) }),
        cache: getLocalCryptographicMaterialsCache(10),
        maxAge: 60 * 60_000,
        maxMessagesEncrypted: 1_000_000,
      });
      const out: Uint8Array[] = [];
      for (let i = 0; i < suite.n; i += 1) out.push((await esdk.encrypt(cmm, RECORD(i), { encryptionContext: { purpose: 'card' }, suiteId: suite.id })).result);
      return out;
    };
    const messages = await seal(h.cardKeyArn);
    const open = (m: Uint8Array): Promise<unknown> => openEsdkRecord(m, { kms: enclave.kms, cardKeyArn: h.cardKeyArn, requiredContext: { purpose: 'card' }, maxBodyBytes: 4096 });
    await open(messages[0]!); // warm the data-key cache

    // The same data key, handed out by an in-process "KMS" at no cost.
    const keys = new Map<string, Uint8Array>();
    const memo = {
      async decrypt(input: EsdkDecryptInput) {
        const id = Buffer.from(input.CiphertextBlob).toString('base64');
        let key = keys.get(id);
        if (key === undefined) {
          key = (await enclave.kms.decrypt(input)).Plaintext;
          keys.set(id, key);
        }
        return { KeyId: input.KeyId!, Plaintext: Uint8Array.from(key) };
      },
      encrypt: () => Promise.reject(new Error('unused')),
      generateDataKey: () => Promise.reject(new Error('unused')),
    };
    const memoKeyring = new KmsKeyringNode({ keyIds: [h.cardKeyArn], clientProvider: () => memo });
    // The same attested client and warm cache, behind a plain strict keyring made once.
    const attestedKeyring = new KmsKeyringNode({ keyIds: [h.cardKeyArn], clientProvider: esdkClientProvider(enclave.kms as unknown as KMS) });
    const contenders: Record<string, (m: Uint8Array) => Promise<unknown>> = {
      openEsdkRecord: open,
      plainKeyringAttestedKms: (m) => esdk.decrypt(attestedKeyring, m, { maxBodySize: 4096 }),
      plainKeyringInProcessKms: (m) => esdk.decrypt(memoKeyring, m, { maxBodySize: 4096 }),
    };

    // Interleaved in chunks of CHUNK messages, rotating which contender goes first, time summed
    // per contender: the machine is shared, and load drifting between long runs would otherwise
    // show up as a ratio. This process's CPU time is summed too: with a warm cache nothing waits
    // for I/O, so CPU time is the work done, less disturbed by other processes.
    const names = Object.keys(contenders);
    const spent = Object.fromEntries(names.map((n) => [n, { wallMs: 0, cpuMs: 0 }]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let at = 0, turn = round; at < messages.length; at += CHUNK, turn += 1) {
        const chunk = messages.slice(at, at + CHUNK);
        for (let k = 0; k < names.length; k += 1) {
          const name = names[(turn + k) % names.length]!;
          const cpu = process.cpuUsage();
          const start = performance.now();
          for (const message of chunk) await contenders[name]!(message);
          spent[name]!.wallMs += performance.now() - start;
          const used = process.cpuUsage(cpu);
          spent[name]!.cpuMs += (used.user + used.system) / 1000;
        }
      }
    }
    const opened = messages.length * ROUNDS;
    const rate = (name: string) => ({ wall: Math.round((opened * 1000) / spent[name]!.wallMs), cpu: Math.round((opened * 1000) / spent[name]!.cpuMs) });
    const ratio = (name: string) => ({
      wall: Number((spent[name]!.wallMs / spent.openEsdkRecord!.wallMs).toFixed(3)),
      cpu: Number((spent[name]!.cpuMs / spent.openEsdkRecord!.cpuMs).toFixed(3)),
    });
    const overhead = (name: string) => ({
      wall: Math.round(((spent.openEsdkRecord!.wallMs - spent[name]!.wallMs) * 1000) / opened),
      cpu: Math.round(((spent.openEsdkRecord!.cpuMs - spent[name]!.cpuMs) * 1000) / opened),
    });

    // Plain SDK KMS client over HTTPS, one Decrypt per message (a small sample: it is slow).
    const httpsMessages = (await seal(h.otherKeyArn)).slice(0, Math.min(suite.n, 200));
    const httpsKeyring = new KmsKeyringNode({ keyIds: [h.otherKeyArn], clientProvider: esdkClientProvider(producer) });
    const https = await recordsPerSecond(httpsMessages, (m) => esdk.decrypt(httpsKeyring, m, { maxBodySize: 4096 }));

    results.push({
      suite: suite.name,
      messages: suite.n,
      messageBytes: messages[0]!.byteLength,
      recordsPerSecond: Object.fromEntries(names.map((n) => [n, rate(n)])),
      ratioOpenEsdkRecordTo: { plainKeyringAttestedKms: ratio('plainKeyringAttestedKms'), plainKeyringInProcessKms: ratio('plainKeyringInProcessKms') },
      overheadMicrosPerRecordVs: { plainKeyringAttestedKms: overhead('plainKeyringAttestedKms'), plainKeyringInProcessKms: overhead('plainKeyringInProcessKms') },
      plainKeyringSdkKmsHttps: { wall: Math.round(https) },
      enclaveKmsCalls: { ...enclave.calls },
    });
  }
  enclave.close();
  console.log(JSON.stringify({ node: process.version, rounds: ROUNDS, results }, null, 2));
} finally {
  await h.close();
}
