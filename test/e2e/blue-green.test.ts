/**
 * Updating the enclave on one host without downtime (docs/operations.md, "Updating the enclave
 * without downtime"): while tokenize requests flow, a differently measured build (a new PCR0) gets
 * its own key-policy statement, starts beside the old enclave, the parent links it on SIGHUP,
 * drains the old one on the next SIGHUP, the old enclave stops and its statement is removed.
 * Not one request may fail, and both builds must produce the same token (same wrapped keys).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoKeyPolicies } from '../../cli/dev/demo-key.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { serveNsm } from '../../sim/nsm/server.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { loadSimPki, simRoleArn } from '../../sim/state.js';
import { ensureBuilt } from '../helpers/built.js';
import { esdkProducer } from './producer.js';
import { ENCLAVE_BUNDLE, startStack, type Stack } from './stack.js';

const TOKENIZE = '/v1/cards/tokenize';

async function until(what: string, check: () => boolean | Promise<boolean>, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('blue/green enclave update on one host', () => {
  let stack: Stack;
  let green: ChildProcess | undefined;
  let greenNsm: { close(): Promise<void> } | undefined;
  beforeAll(async () => {
    ensureBuilt();
    stack = await startStack();
    await stack.waitReady();
  }, 90_000);
  afterAll(async () => {
    green?.kill('SIGKILL');
    await greenNsm?.close();
    await stack?.close();
  });

  it('replaces the enclave with a differently measured build while requests flow: zero failed requests', async () => {
    const run = path.join(stack.dir, 'run');
    const parentConfigFile = path.join(run, 'parent.json');
    const parentConfig = JSON.parse(await readFile(parentConfigFile, 'utf8')) as { enclaves: string[] };
    const blueUrl = parentConfig.enclaves[0]!;

    // The new build: same code, one more byte sequence, so a different PCR0 (as any change would).
    const greenBundle = path.join(stack.dir, 'enclave-green.js');
    await copyFile(ENCLAVE_BUNDLE, greenBundle);
    await appendFile(greenBundle, '\n// the next release\n');
    const enclaveRoleArn = simRoleArn('111122223333', 'enclave');
    const instanceId = randomInstanceId();
    const greenPcrs = measureEnclave({ appBundle: readFileSync(greenBundle), roleArn: enclaveRoleArn, instanceId });
    expect(greenPcrs[0]).not.toBe(stack.pcrs[0]);

    const producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
    const sealed = await producer.sealCard({ pan: '4000056655665556', exp: '12/39' });
    producer.close();
    const statuses: number[] = [];
    const tokens = new Set<string>();
    let stop = false;
    const worker = async (): Promise<void> => {
      // Bounded: the switch below sets `stop`; the cap only guards against a hung test.
      for (let i = 0; i < 20_000 && !stop; i++) {
        const { status, json } = await stack.api(TOKENIZE, { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }) });
        statuses.push(status);
        if (status === 200) tokens.add(String(json.token));
      }
    };
    const workers = [worker(), worker()];
    try {
      await until('requests flowing', () => statuses.length >= 5);

      // 1. The key policy gets a second enclave statement, for the new PCR0.
      // One enclave statement per allowed PCR0, on both keys (card data keys and the wrapped enclave
      // keys under the internal key); the rest of the demo policies unchanged.
      type Policy = ReturnType<typeof demoKeyPolicies>['card'];
      const perBuild = (base: Policy, pcr0s: string[]): Policy => {
        const enclaveStatement = base.Statement.find((s) => s.Sid === 'EnclaveKitAttestedEnclave')!;
        const statements = pcr0s.map((pcr0) => ({
          ...enclaveStatement,
          Sid: `EnclaveKitAttestedEnclave${pcr0.slice(0, 8)}`,
          Condition: { ...enclaveStatement.Condition, StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': pcr0 } },
        }));
        return { ...base, Statement: [...base.Statement.filter((s) => s !== enclaveStatement), ...statements] };
      };
      const policiesFor = (pcr0s: string[]) => {
        const base = demoKeyPolicies({ account: '111122223333', adminArn: stack.principal('admin').arn, enclaveRoleArn, producerArn: stack.principal('client').arn, pcr0: pcr0s[0]! });
        return { card: perBuild(base.card, pcr0s), internal: perBuild(base.internal, pcr0s) };
      };
      const putPolicies = async (policies: { card: Policy; internal: Policy }) => {
        for (const [KeyId, policy] of [[stack.keyArn, policies.card], [stack.internalKeyArn, policies.internal]] as const) {
          await stack.kms('admin').send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) }));
        }
      };
      const both = policiesFor([stack.pcrs[0]!, greenPcrs[0]!]);
      for (const policy of [both.card, both.internal]) expect(policy.Statement.filter((s) => s.Sid.startsWith('EnclaveKitAttestedEnclave'))).toHaveLength(2);
      await putPolicies(both);

      // 2. The new enclave starts beside the old one (a second CID in production).
      const greenSocket = path.join(run, 'green.sock');
      const greenNsmSocket = path.join(run, 'nsm-green.sock');
      const nsm = new SimulatedNsm({ pki: await loadSimPki(path.join(stack.dir, 'sim'), Date.now()), pcrs: greenPcrs, moduleId: newModuleId(Date.now(), instanceId), silent: true });
      greenNsm = await serveNsm(nsm, greenNsmSocket);
      const blueConfig = JSON.parse(await readFile(path.join(run, 'enclave.json'), 'utf8')) as Record<string, unknown>;
      const greenConfigFile = path.join(run, 'enclave-green.json');
      await writeFile(greenConfigFile, JSON.stringify({ ...blueConfig, listen: `unix://${greenSocket}`, nsm: `sim+unix://${greenNsmSocket}` }));
      let greenOut = '';
      green = spawn(process.execPath, [greenBundle, '--config', greenConfigFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      green.stdout!.on('data', (d: Buffer) => (greenOut += d.toString()));
      green.stderr!.on('data', (d: Buffer) => (greenOut += d.toString()));
      await until('the new enclave socket', () => existsSync(greenSocket) || green?.exitCode !== null);
      expect(green.exitCode, greenOut).toBeNull();

      // 3. The parent links it without a restart.
      const greenUrl = `unix://${greenSocket}`;
      const parentPid = stack.parent().pid;
      await writeFile(parentConfigFile, JSON.stringify({ ...parentConfig, enclaves: [blueUrl, greenUrl] }));
      stack.parent().kill('SIGHUP');
      const parentLines = () => stack.parentLog().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      await until('the new enclave ready', () => parentLines().some((e) => e.msg === 'enclave-ready' && e.enclave === greenUrl));

      // 4. Drain the old one, then stop it.
      await writeFile(parentConfigFile, JSON.stringify({ ...parentConfig, enclaves: [greenUrl] }));
      stack.parent().kill('SIGHUP');
      await until('the old enclave drained', () => parentLines().some((e) => e.msg === 'enclave-drained' && e.enclave === blueUrl));
      const countAtDrain = statuses.length;
      await stack.stopEnclave();

      // 5. Remove the old statement; requests keep flowing on the new build alone.
      await putPolicies(policiesFor([greenPcrs[0]!]));
      await until('requests served by the new enclave alone', () => statuses.length >= countAtDrain + 20);
      expect(stack.parent().pid).toBe(parentPid);
      expect(stack.parent().exitCode).toBeNull();
      expect(parentLines().find((e) => e.msg === 'enclave-drained')?.callsCut).toBe(0);
      expect(greenOut).toMatch(/"event":"keys-loaded"/);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    const failed = statuses.filter((s) => s !== 200);
    expect(failed, `failed requests: ${failed.length} of ${statuses.length}`).toEqual([]);
    expect(statuses.length).toBeGreaterThan(25);
    // Same wrapped keys, same token on both builds.
    expect(tokens.size).toBe(1);
  }, 180_000);
});
