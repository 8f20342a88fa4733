/**
 * The end-to-end stack for tests: the KMS simulator and the simulated NSM in this process, the
 * enclave and the parent as separate processes (the enclave in an empty network namespace when
 * possible), and a recording tap on every socket the parent handles: HTTP, the enclave link, the
 * enclave's KMS tunnels and the parent's upstream KMS connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { createDemoKeys, demoKeyPolicies, pinnedKeys } from '../../cli/dev/demo-key.js';
import { startKmsSimulator, type KmsSimulator } from '../../sim/kms/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { serveNsm } from '../../sim/nsm/server.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { initSimState, loadCredentials, loadSimPki, simRoleArn, type SimPrincipal } from '../../sim/state.js';
import { kmsClient } from '../kms/harness.js';
import { startTap, type Tap } from './tap.js';
import { DEFAULT_SCOPES } from '../../parent/http/auth.js';
import { canIsolate } from '../../cli/dev/isolation.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const ENCLAVE_BUNDLE = path.join(REPO, 'dist/enclave.js');
const CLI = path.join(REPO, 'bin/enclavekit.js');
const ACCOUNT = '111122223333';

export { canIsolate };

export interface StackOptions {
  /** The enclave program to run (default dist/enclave.js); PCRs are measured from `measuredBundle`. */
  bundle?: string;
  /** What the key policy is bound to (default: the bundle that runs). */
  policyBundle?: string;
  isolate?: boolean;
  /** Extra enclave config. */
  enclaveConfig?: Record<string, unknown>;
  /** The enclave config's `cards` section beyond `cardKeyArn` (HPKE senders, recipients, ...). */
  cards?: Record<string, unknown>;
  /** Extra scopes for the test token (beyond the defaults and the configured recipients). */
  tokenScopes?: string[];
  kmsFaults?: Parameters<KmsSimulator['setFaults']>[0];
  /** Seeds the simulator's injected-fault draws (deterministic fault tests). */
  kmsFaultSeed?: number;
  /** Merged into the enclave config's `kms` section (maxAttempts, requestTimeoutMs, ...). */
  kms?: Record<string, unknown>;
}

export interface Stack {
  dir: string;
  sim: KmsSimulator;
  pcrs: Record<number, string>;
  /** The card key (producers seal under it). */
  keyArn: string;
  /** The internal key (wraps the tokenization and blind-index keys; no producer grant). */
  internalKeyArn: string;
  parentUrl: string;
  apiToken: string;
  /** A bare-string token (default scopes: tokenize, redact, blind-index; no detokenize). */
  legacyToken: string;
  /** The plaintext wrapped keys, learned through a test-only admin Decrypt grant. */
  plaintextKeys: Record<string, Uint8Array>;
  principal(role: 'admin' | 'enclave' | 'client'): SimPrincipal;
  kms(role: 'admin' | 'enclave' | 'client'): KMSClient;
  taps: { http: Tap; link: Tap; tunnel: Tap; kms: Tap };
  enclave(): ChildProcess;
  parent(): ChildProcess;
  enclaveOutput(): string;
  parentOutput(): string;
  parentLog(): string;
  startEnclave(): Promise<void>;
  stopEnclave(signal?: NodeJS.Signals): Promise<void>;
  restartParent(): Promise<void>;
  api(pathname: string, init?: RequestInit): Promise<{ status: number; json: any }>;
  waitReady(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const bundle = options.bundle ?? ENCLAVE_BUNDLE;
  if (!existsSync(bundle)) throw new Error('dist/enclave.js is missing: run `node scripts/build.mjs`');
  const dir = await mkdtemp(path.join(tmpdir(), 'ek-e2e-'));
  const run = path.join(dir, 'run');
  await mkdir(run, { recursive: true });
  await initSimState(path.join(dir, 'sim'), { now: Date.now() - 86_400_000 });
  const simDir = path.join(dir, 'sim');
  const principals = await loadCredentials(simDir);
  const principal = (role: string): SimPrincipal => principals.find((p) => p.arn === simRoleArn(ACCOUNT, role))!;
  const sim = await startKmsSimulator({
    stateDir: simDir,
    silent: true,
    ...(options.kmsFaults ? { faults: options.kmsFaults } : {}),
    ...(options.kmsFaultSeed === undefined ? {} : { faultSeed: options.kmsFaultSeed }),
  });
  const clients = new Map<string, KMSClient>();
  const kms = (role: 'admin' | 'enclave' | 'client'): KMSClient => {
    let c = clients.get(role);
    if (c === undefined) clients.set(role, (c = kmsClient(sim, principal(role))));
    return c;
  };

  // The simulated NSM measures the bundle the key policy is bound to and the one that runs.
  const enclaveRoleArn = simRoleArn(ACCOUNT, 'enclave');
  const instanceId = randomInstanceId();
  const pcrs = measureEnclave({ appBundle: readFileSync(bundle), roleArn: enclaveRoleArn, instanceId });
  const policyPcr0 = options.policyBundle === undefined ? pcrs[0]! : measureEnclave({ appBundle: readFileSync(options.policyBundle) })[0]!;
  const pki = await loadSimPki(simDir, Date.now());
  const nsmSocket = path.join(run, 'nsm.sock');
  // Every enclave boot gets a fresh NSM, as on hardware (PCR16-31 start unlocked and zero).
  let nsmServer: { close(): Promise<void> } | undefined;
  const bootNsm = async (): Promise<void> => {
    await nsmServer?.close();
    const nsm = new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(Date.now(), instanceId), silent: true });
    nsmServer = await serveNsm(nsm, nsmSocket);
  };

  // The production two-key layout (cli/dev/demo-key.ts), as `enclavekit dev` sets it up.
  const policies = demoKeyPolicies({ account: ACCOUNT, adminArn: principal('admin').arn, enclaveRoleArn, producerArn: principal('client').arn, pcr0: policyPcr0 });
  // Test only: the admin may Decrypt under the internal key, so the test knows the plaintext keys
  // the taps must never see.
  const internal = { ...policies.internal, Statement: [...policies.internal.Statement, { Sid: 'TestOnlyAdminDecrypt', Effect: 'Allow' as const, Principal: { AWS: principal('admin').arn }, Action: ['kms:Decrypt'], Resource: '*' as const }] };
  const { cardKeyArn: keyArn, internalKeyArn, wrappedKeys } = await createDemoKeys(kms('admin'), { card: policies.card, internal }, 'e2e');
  const plaintextKeys: Record<string, Uint8Array> = {};
  for (const [name, wrapped] of Object.entries(wrappedKeys)) {
    const plain = await kms('admin').send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped.ciphertextBlob, 'base64'), EncryptionContext: wrapped.encryptionContext }));
    plaintextKeys[name] = plain.Plaintext!;
  }

  // Taps: parent → KMS, enclave → parent proxy, parent → enclave link.
  const simUrl = new URL(sim.endpoint);
  const kmsTap = await startTap({ port: 0 }, () => ({ host: '127.0.0.1', port: Number(simUrl.port) }));
  const enclaveSocket = path.join(run, 'enclave.sock');
  const proxySocket = path.join(run, 'proxy.sock');
  const tunnelTap = await startTap({ path: path.join(run, 'proxy-tap.sock') }, () => ({ path: proxySocket }));
  const linkTap = await startTap({ path: path.join(run, 'link-tap.sock') }, () => ({ path: enclaveSocket }));

  const enclaveConfigFile = path.join(run, 'enclave.json');
  await writeFile(
    enclaveConfigFile,
    JSON.stringify({
      listen: `unix://${enclaveSocket}`,
      proxy: `unix://${tunnelTap.address as string}`,
      nsm: `sim+unix://${nsmSocket}`,
      kms: { region: sim.region, endpoint: `https://127.0.0.1:${kmsTap.address as number}`, caFile: sim.caFile, maxAttempts: 3, ...options.kms },
      cards: { cardKeyArn: keyArn, ...(options.cards ?? {}) },
      keys: pinnedKeys(wrappedKeys),
      ...options.enclaveConfig,
    }),
  );
  const apiToken = 'e2e-token-0123456789abcdef';
  const legacyToken = 'e2e-legacy-token-0123456789';
  const recipients = Object.keys((options.cards?.['detokenizeRecipients'] ?? {}) as Record<string, string>);
  const parentConfigFile = path.join(run, 'parent.json');
  const logFile = path.join(dir, 'parent.log');
  await writeFile(
    parentConfigFile,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      // The test token may detokenize to every configured recipient; `legacyToken` is the older
      // bare-string form, with the default scopes (no detokenize).
      apiTokens: [{ token: apiToken, scopes: [...DEFAULT_SCOPES, ...recipients.map((name) => `cards:detokenize:${name}`), ...(options.tokenScopes ?? [])] }, legacyToken],
      enclaves: [`unix://${linkTap.address as string}`],
      region: sim.region,
      proxy: { listen: `unix://${proxySocket}`, allowlist: [`127.0.0.1:${kmsTap.address as number}`] },
      credentials: { source: 'file', file: path.join(simDir, 'credentials.json'), arn: enclaveRoleArn },
      wrappedKeys,
      logFile,
    }),
  );

  let enclave: ChildProcess | undefined;
  let enclaveOut = '';
  const isolate = options.isolate ?? canIsolate();
  const startEnclave = async (): Promise<void> => {
    await rm(enclaveSocket, { force: true });
    await bootNsm();
    const argv = [process.execPath, bundle, '--config', enclaveConfigFile];
    enclave = isolate ? spawn('unshare', ['--net', '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    enclave.stdout!.on('data', (d: Buffer) => (enclaveOut += d.toString()));
    enclave.stderr!.on('data', (d: Buffer) => (enclaveOut += d.toString()));
    const child = enclave;
    await until('the enclave socket', () => (existsSync(enclaveSocket) ? true : child.exitCode !== null ? (() => { throw new Error(`enclave exited: ${enclaveOut}`); })() : undefined), 30_000);
  };
  const stopEnclave = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (enclave === undefined) return;
    const child = enclave;
    child.kill(signal);
    await exited(child);
  };

  let parent: ChildProcess | undefined;
  let parentOut = '';
  let parentUrl = '';
  const urlFile = path.join(run, 'parent.url');
  const startParent = async (): Promise<void> => {
    await rm(urlFile, { force: true });
    parent = spawn(process.execPath, [CLI, 'parent', '--config', parentConfigFile, '--url-file', urlFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    parent.stdout!.on('data', (d: Buffer) => (parentOut += d.toString()));
    parent.stderr!.on('data', (d: Buffer) => (parentOut += d.toString()));
    const child = parent;
    parentUrl = await until('the parent URL', async () => {
      if (child.exitCode !== null) throw new Error(`parent exited: ${parentOut}`);
      return existsSync(urlFile) ? (await readFile(urlFile, 'utf8')).trim() || undefined : undefined;
    }, 30_000);
  };

  await startEnclave();
  await startParent();
  const parentPort = () => Number(new URL(parentUrl).port);
  const httpTap = await startTap({ port: 0 }, () => ({ host: '127.0.0.1', port: parentPort() }));
  const tappedUrl = `http://127.0.0.1:${httpTap.address as number}`;

  const api = async (pathname: string, init: RequestInit = {}) => {
    const res = await fetch(tappedUrl + pathname, { ...init, headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json: json as any };
  };
  const waitReady = async (timeoutMs = 60_000) => {
    await until('/readyz', async () => ((await api('/readyz')).status === 200 ? true : undefined), timeoutMs);
  };

  return {
    dir,
    sim,
    pcrs,
    keyArn,
    internalKeyArn,
    get parentUrl() {
      return tappedUrl;
    },
    apiToken,
    legacyToken,
    plaintextKeys,
    principal: (role) => principal(role),
    kms,
    taps: { http: httpTap, link: linkTap, tunnel: tunnelTap, kms: kmsTap },
    enclave: () => enclave!,
    parent: () => parent!,
    enclaveOutput: () => enclaveOut,
    parentOutput: () => parentOut,
    parentLog: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    startEnclave,
    stopEnclave,
    restartParent: async () => {
      parent!.kill('SIGTERM');
      await exited(parent!);
      await startParent();
    },
    api,
    waitReady,
    close: async () => {
      await stopEnclave('SIGKILL');
      parent?.kill('SIGKILL');
      if (parent) await exited(parent);
      for (const tap of [httpTap, linkTap, tunnelTap, kmsTap]) await tap.close();
      await nsmServer?.close();
      for (const c of clients.values()) c.destroy();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every byte the parent read or wrote (the four taps) and every line it logged or printed. */
export function parentView(stack: Stack): Record<string, Buffer | string> {
  return {
    'the HTTP tap': stack.taps.http.bytes(),
    'the enclave link tap': stack.taps.link.bytes(),
    'the KMS tunnel tap': stack.taps.tunnel.bytes(),
    'the KMS upstream tap': stack.taps.kms.bytes(),
    'the parent log file': stack.parentLog(),
    'the parent output': stack.parentOutput(),
  };
}
