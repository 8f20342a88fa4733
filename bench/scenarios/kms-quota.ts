/**
 * KMS quota planning for a fleet: measures, on the whole stack, the KMS calls one enclave makes
 * from start to ready and per new ESDK data key (and that a data key already cached costs none),
 * then applies bench/lib/kms-quota.ts to example fleets: calls per host at boot and per hour of
 * traffic, and how many hosts may boot at once per quota (docs/operations.md, "KMS request quotas").
 */
import type { BenchCheck, BenchFigure, Scenario } from '../main.js';
import { testCards } from '../lib/cards.js';
import { distinctDataKeys, sealCardsEsdk } from '../lib/esdk.js';
import { hostsBootingAtOnce, KMS_QUOTAS, planFleetKms } from '../lib/kms-quota.js';
import { figure } from '../lib/rounds.js';
import { DEFAULT_DATA_KEY_CACHE_LIMITS } from '../../enclave/kms/data-key-cache.js';
import { startBenchStack, type BenchStack } from '../lib/stack.js';

const RECORDS = 40;
const PER_DATA_KEY = 4;

function kmsCalls(stack: BenchStack): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const e of stack.enclaveEvents()) if (e.event === 'kms-call') calls[String(e.operation)] = (calls[String(e.operation)] ?? 0) + 1;
  return calls;
}
const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

const scenario: Scenario = {
  description: 'KMS calls per enclave boot and per data key, and the fleet quota plan built on them',
  async run({ quick, log }) {
    const boots = quick ? 1 : 3;
    const stack = await startBenchStack({ log });
    try {
      await stack.waitReady();
      const bootCalls: number[] = [];
      let before = total(kmsCalls(stack));
      bootCalls.push(before);
      const byOperation = kmsCalls(stack);
      for (let i = 1; i < boots; i++) {
        await stack.stopEnclave();
        await stack.startEnclave();
        await stack.waitReady();
        const now = total(kmsCalls(stack));
        bootCalls.push(now - before);
        before = now;
      }
      log(`  boot: ${bootCalls.join(', ')} KMS calls (${JSON.stringify(byOperation)})`);

      const messages = await sealCardsEsdk(stack.sim, stack.principal('client'), stack.keyArn, testCards(RECORDS, 5), { suite: 'unsigned', messagesPerDataKey: PER_DATA_KEY });
      const dataKeys = distinctDataKeys(messages);
      const send = async (): Promise<void> => {
        for (const m of messages) {
          const res = await stack.http.post('/v1/cards/tokenize', Buffer.from(JSON.stringify({ card: { esdk: Buffer.from(m).toString('base64') } })));
          if (res.status !== 200) throw new Error(`tokenize answered ${res.status}`);
        }
      };
      const start = total(kmsCalls(stack));
      await send();
      const firstPass = total(kmsCalls(stack)) - start;
      await send();
      const secondPass = total(kmsCalls(stack)) - start - firstPass;
      const callsPerDataKey = firstPass / dataKeys;
      log(`  traffic: ${RECORDS} records under ${dataKeys} data keys cost ${firstPass} KMS calls, the same records again ${secondPass}`);

      const bootCallsPerEnclave = Math.max(...bootCalls);
      const figures: BenchFigure[] = [figure('KMS calls per enclave boot (start to ready)', 'calls', bootCalls), figure('KMS calls per new data key, per enclave', 'calls', [callsPerDataKey])];
      const plans: Record<string, unknown>[] = [];
      // Example fleets: hosts, records per hour, records per data key, how long producers keep a data key (ms).
      for (const [hosts, recordsPerHour, recordsPerDataKey, dataKeyLifetimeMs] of [[3, 3_600_000, 1, 0], [3, 3_600_000, 1000, 60_000], [20, 36_000_000, 1000, 10_000], [100, 36_000_000, 100, 1_000], [20, 36_000, 36_000, 3_600_000]] as const) {
        const plan = planFleetKms({ bootCallsPerEnclave, enclavesPerHost: 1, hosts, recordsPerHour, recordsPerDataKey, callsPerDataKey, dataKeyLifetimeMs, cacheMaxAgeMs: DEFAULT_DATA_KEY_CACHE_LIMITS.maxAgeMs, restartsPerHostPerHour: 1 / 24 });
        const atOnce = Object.fromEntries(
          (['symmetric', 'symmetricRaised', 'symmetricLargest'] as const).map((q) => [q, hostsBootingAtOnce({ quotaPerSecond: KMS_QUOTAS[q], share: 0.5, steadyCallsPerSecond: plan.fleetCallsPerSecond, bootCallsPerHost: plan.bootCallsPerHost })]),
        );
        plans.push({ hosts, recordsPerHour, recordsPerDataKey, dataKeyLifetimeMs, ...plan, hostsBootingAtOnceAtHalfTheQuota: atOnce });
        log(`  ${hosts} hosts, ${recordsPerHour}/h, ${recordsPerDataKey}/data key: ${Math.round(plan.callsPerHostPerHour)} calls/host/h, ${plan.fleetCallsPerSecond.toFixed(1)}/s fleet; hosts booting at once (half of 5,500 / 10,000 / 30,000): ${Object.values(atOnce).join(' / ')}`);
      }
      const checks: BenchCheck[] = [
        { name: 'KMS calls for records whose data key is cached', value: secondPass, target: 0, comparison: '≤', pass: secondPass === 0, detail: `(${RECORDS} records sent again)` },
        { name: 'KMS calls per new data key, per enclave', value: callsPerDataKey, target: 1, comparison: '≤', pass: callsPerDataKey <= 1, detail: `(${dataKeys} data keys)` },
      ];
      return { rows: [], figures, checks, info: { bootCallsByOperation: byOperation, bootCalls, dataKeys, firstPass, secondPass, plans, quotas: KMS_QUOTAS } };
    } finally {
      await stack.close();
    }
  },
};

export default scenario;
