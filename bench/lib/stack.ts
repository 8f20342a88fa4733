/**
 * The whole stack for benchmarks: the KMS simulator and the simulated NSM in this process, the
 * enclave (dist-style bundle, in an empty network namespace when possible) and the parent as
 * separate processes, wired exactly as test/e2e/stack.ts wires them, but with no recording taps:
 * a tap is an extra relay hop that keeps every byte, which would be billed to the stack.
 *
 * Also what the in-process comparison needs to build the same enclave services (inprocess.ts):
 * the enclave config, the PKI and PCRs the simulated NSM attests with, the wrapped keys.
 * Children write their logs to files (as under systemd), not to pipes this process would drain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { generateHpkeKeyPair, type HpkeKeyPair } from '../../shared/hpke/index.js';
import { createDemoKeys, demoKeyPolicies, pinnedKeys, type WrappedKeyFile } from '../../cli/dev/demo-key.js';
import { startKmsSimulator, type KmsSimulator } from '../../sim/kms/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { serveNsm } from '../../sim/nsm/server.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { initSimState, loadCredentials, loadSimPki, simRoleArn, type SimPrincipal } from '../../sim/state.js';
import { canIsolate } from '../../cli/dev/isolation.js';
import { kmsClient } from '../../test/kms/harness.js';
import { benchBuild, cliArgv } from './build.js';
import { HttpClient } from './http.js';
import { RawHttpClient } from './raw-http.js';

const ACCOUNT = '111122223333';
type SimPki = Awaited<ReturnType<typeof loadSimPki>>;
export type WrappedKey = WrappedKeyFile;

export interface BenchStack {
  dir: string;
  sim: KmsSimulator;
  pki: SimPki;
  pcrs: Record<number, string>;
  keyArn: string;
  /** The enclave configuration file's content (parsed again in-process for the comparison). */
  enclaveConfig: Record<string, unknown>;
  wrappedKeys: Record<string, WrappedKey>;
  /** The allowlisted HPKE producer (Auth mode). */
  sender: HpkeKeyPair;
  isolated: boolean;
  parentUrl: string;
  apiToken: string;
  /** Keep-alive client for the parent's API, bearer token set. */
  http: HttpClient;
  /** The lean client the load runs use (raw-http.ts). */
  load: RawHttpClient;
  principal(role: 'admin' | 'enclave' | 'client'): SimPrincipal;
  enclavePid(): number;
  parentPid(): number;
  /** The enclave's JSON log lines so far (kms-call events among them). */
  enclaveEvents(): Record<string, unknown>[];
  /** Kills the enclave (SIGKILL) and waits for it to exit. */
  stopEnclave(): Promise<void>;
  /** Spawns the enclave; resolves once it listens. `spawnedAt` is performance.now() at spawn. */
  startEnclave(): Promise<{ spawnedAt: number }>;
  /** Polls /readyz every `intervalMs` until 200; resolves with performance.now() at that answer. */
  waitReady(timeoutMs?: number, intervalMs?: number): Promise<number>;
  close(): Promise<void>;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface BenchStackOptions {
  /** Extra enclave config (e.g. `cache` limits). */
  enclaveConfig?: Record<string, unknown>;
  log?: (message: string) => void;
  /**
   * Write V8 CPU profiles of the enclave and the parent here (node --cpu-prof); the children are
   * then stopped with SIGTERM so that they write them. Default: $ENCLAVEKIT_BENCH_PROFILE.
   * Other node flags for both children: $ENCLAVEKIT_BENCH_NODE_FLAGS (e.g. "--trace-gc").
   */
  profileDir?: string | undefined;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const log = options.log ?? (() => undefined);
  log('  building the enclave bundle and the CLI (build/bench/)');
  const build = await benchBuild();
  const dir = await mkdtemp(path.join(tmpdir(), 'ek-bench-'));
  const run = path.join(dir, 'run');
  await mkdir(run, { recursive: true });
  const simDir = path.join(dir, 'sim');
  await initSimState(simDir, { now: Date.now() - 86_400_000 });
  const principals = await loadCredentials(simDir);
  const principal = (role: string): SimPrincipal => {
    const found = principals.find((p) => p.arn === simRoleArn(ACCOUNT, role));
    if (found === undefined) throw new Error(`no ${role} principal`);
    return found;
  };
  const sim = await startKmsSimulator({ stateDir: simDir, silent: true });
  const admin: KMSClient = kmsClient(sim, principal('admin'));

  const enclaveRoleArn = simRoleArn(ACCOUNT, 'enclave');
  const instanceId = randomInstanceId();
  const pcrs = measureEnclave({ appBundle: readFileSync(build.enclave), roleArn: enclaveRoleArn, instanceId });
  const pki = await loadSimPki(simDir, Date.now());
  const nsmSocket = path.join(run, 'nsm.sock');
  let nsmServer: { close(): Promise<void> } | undefined;
  const bootNsm = async (): Promise<void> => {
    await nsmServer?.close();
    nsmServer = await serveNsm(new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(Date.now(), instanceId), silent: true }), nsmSocket);
  };

  const policies = demoKeyPolicies({ account: ACCOUNT, adminArn: principal('admin').arn, enclaveRoleArn, producerArn: principal('client').arn, pcr0: pcrs[0]! });
  const { cardKeyArn: keyArn, wrappedKeys } = await createDemoKeys(admin, policies, 'bench');
  admin.destroy();

  const sender = await generateHpkeKeyPair();
  const enclaveSocket = path.join(run, 'enclave.sock');
  const proxySocket = path.join(run, 'proxy.sock');
  const simPort = new URL(sim.endpoint).port;
  const enclaveConfig: Record<string, unknown> = {
    listen: `unix://${enclaveSocket}`,
    proxy: `unix://${proxySocket}`,
    nsm: `sim+unix://${nsmSocket}`,
    kms: { region: sim.region, endpoint: sim.endpoint, caFile: sim.caFile },
    cards: { cardKeyArn: keyArn, hpkeSenders: [Buffer.from(sender.publicKey).toString('base64')] },
    keys: pinnedKeys(wrappedKeys),
    ...options.enclaveConfig,
  };
  const enclaveConfigFile = path.join(run, 'enclave.json');
  await writeFile(enclaveConfigFile, JSON.stringify(enclaveConfig));
  const apiToken = 'bench-token-0123456789abcdef';
  const parentConfigFile = path.join(run, 'parent.json');
  await writeFile(
    parentConfigFile,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      apiTokens: [apiToken],
      enclaves: [`unix://${enclaveSocket}`],
      region: sim.region,
      proxy: { listen: `unix://${proxySocket}`, allowlist: [`127.0.0.1:${simPort}`] },
      credentials: { source: 'file', file: path.join(simDir, 'credentials.json'), arn: enclaveRoleArn },
      wrappedKeys,
    }),
  );
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const profileDir = options.profileDir ?? process.env.ENCLAVEKIT_BENCH_PROFILE;
  const nodeFlags = [...(process.env.ENCLAVEKIT_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`])];
  if (profileDir !== undefined) log(`  CPU profiles of the enclave and the parent go to ${path.resolve(profileDir)}`);

  const isolated = canIsolate();
  const enclaveLog = path.join(dir, 'enclave.log');
  let enclave: ChildProcess | undefined;
  const startEnclave = async (): Promise<{ spawnedAt: number }> => {
    await rm(enclaveSocket, { force: true });
    await bootNsm();
    const out = openSync(enclaveLog, 'a');
    const argv = [process.execPath, ...nodeFlags, build.enclave, '--config', enclaveConfigFile];
    const spawnedAt = performance.now();
    const child = isolated
      ? spawn('unshare', ['--net', '--', ...argv], { stdio: ['ignore', out, out], env })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out], env });
    closeSync(out);
    enclave = child;
    await until('the enclave socket', () => {
      if (child.exitCode !== null) throw new Error(`enclave exited: ${readFileSync(enclaveLog, 'utf8').slice(-2000)}`);
      return existsSync(enclaveSocket) ? true : undefined;
    }, 30_000, 5);
    return { spawnedAt };
  };
  const stopEnclave = async (): Promise<void> => {
    if (enclave === undefined) return;
    enclave.kill(profileDir === undefined ? 'SIGKILL' : 'SIGTERM');
    await exited(enclave);
  };

  const parentLog = path.join(dir, 'parent.log');
  const urlFile = path.join(run, 'parent.url');
  const parentOut = openSync(parentLog, 'a');
  const parent = spawn(process.execPath, [...nodeFlags, ...cliArgv(build.cli, ['parent', '--config', parentConfigFile, '--url-file', urlFile])], { stdio: ['ignore', parentOut, parentOut], env });
  closeSync(parentOut);

  let http: HttpClient | undefined;
  let load: RawHttpClient | undefined;
  const close = async (): Promise<void> => {
    http?.close();
    load?.close();
    await stopEnclave();
    parent.kill(profileDir === undefined ? 'SIGKILL' : 'SIGTERM');
    await exited(parent);
    await nsmServer?.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await startEnclave();
    const parentUrl = await until('the parent URL', async () => {
      if (parent.exitCode !== null) throw new Error(`parent exited: ${readFileSync(parentLog, 'utf8').slice(-2000)}`);
      return existsSync(urlFile) ? (await readFile(urlFile, 'utf8')).trim() || undefined : undefined;
    }, 30_000);
    http = new HttpClient(parentUrl, apiToken);
    load = new RawHttpClient(parentUrl, apiToken);
    const client = http;
    const waitReady = async (timeoutMs = 60_000, intervalMs = 10): Promise<number> =>
      until('/readyz', async () => ((await client.get('/readyz')).status === 200 ? performance.now() : undefined), timeoutMs, intervalMs);
    await waitReady();
    return {
      dir,
      sim,
      pki,
      pcrs,
      keyArn,
      enclaveConfig,
      wrappedKeys,
      sender,
      isolated,
      parentUrl,
      apiToken,
      http: client,
      load,
      principal,
      enclavePid: () => enclave!.pid!,
      parentPid: () => parent.pid!,
      enclaveEvents: () =>
        readFileSync(enclaveLog, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      stopEnclave,
      startEnclave,
      waitReady,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
