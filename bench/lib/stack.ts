/**
 * The whole stack for benchmarks: the shared local stack (cli/dev/stack.ts) built from a private
 * build (build.ts), with no recording taps (a tap is an extra relay hop that keeps every byte,
 * which would be billed to the stack), one allowlisted HPKE producer, and the children's logs in
 * files (as under systemd), not in pipes this process would drain.
 *
 * Also what the in-process comparison needs to build the same enclave services (inprocess.ts):
 * the enclave config, the PKI and PCRs the simulated NSM attests with, the wrapped keys.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateHpkeKeyPair, type HpkeKeyPair } from '../../shared/hpke/index.js';
import type { WrappedKeyFile } from '../../cli/dev/demo-key.js';
import { startLocalStack } from '../../cli/dev/stack.js';
import type { KmsSimulator } from '../../sim/kms/index.js';
import type { loadSimPki, SimPrincipal } from '../../sim/state.js';
import { benchBuild, cliArgv } from './build.js';
import { HttpClient } from './http.js';
import { RawHttpClient } from './raw-http.js';

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
  const profileDir = options.profileDir ?? process.env.ENCLAVEKIT_BENCH_PROFILE;
  const nodeFlags = [...(process.env.ENCLAVEKIT_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`])];
  if (profileDir !== undefined) log(`  CPU profiles of the enclave and the parent go to ${path.resolve(profileDir)}`);
  const sender = await generateHpkeKeyPair();
  const apiToken = 'bench-token-0123456789abcdef';
  const stack = await startLocalStack({
    bundle: build.enclave,
    cliArgv: (args) => cliArgv(build.cli, args),
    nodeFlags,
    logsToFiles: true,
    enclaveConfig: { cards: { hpkeSenders: [Buffer.from(sender.publicKey).toString('base64')] }, ...options.enclaveConfig },
    parentConfig: { apiTokens: [apiToken] },
    waitReady: false,
  });
  // With profiles, children stop with SIGTERM so that they write them.
  const stopSignal: NodeJS.Signals = profileDir === undefined ? 'SIGKILL' : 'SIGTERM';
  const enclave = stack.enclaves[0]!;
  const http = new HttpClient(stack.parentUrl, apiToken);
  const load = new RawHttpClient(stack.parentUrl, apiToken);
  const close = async (): Promise<void> => {
    http.close();
    load.close();
    await enclave.stop(stopSignal);
    await stack.stopParent(stopSignal);
    await stack.close();
  };
  try {
    await stack.waitReady(60_000, 10);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    dir: stack.dir,
    sim: stack.kms.sim!,
    pki: stack.pki,
    pcrs: stack.pcrs,
    keyArn: stack.keyArn,
    enclaveConfig: enclave.config as Record<string, unknown>,
    wrappedKeys: stack.wrappedKeys,
    sender,
    isolated: stack.isolated,
    parentUrl: stack.parentUrl,
    apiToken,
    http,
    load,
    principal: (role) => stack.principal(role),
    enclavePid: () => enclave.child()!.process.pid!,
    parentPid: () => stack.parent().process.pid!,
    enclaveEvents: () =>
      readFileSync(enclave.logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stopEnclave: () => enclave.stop(stopSignal),
    startEnclave: () => enclave.start(),
    waitReady: (timeoutMs = 60_000, intervalMs = 10) => stack.waitReady(timeoutMs, intervalMs),
    close,
  };
}
