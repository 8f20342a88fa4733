/**
 * The local stack, wired once for `enclavekit dev`, the end-to-end tests and the benchmarks:
 *   1. simulator state, the KMS simulator (in this process, or as a child for `dev`);
 *   2. the card, internal and RSA keys and the wrapped keys (demo-key.ts), their policies bound to
 *      PCR0 of the bundle the key policy names (by default the one that runs); the RSA key is
 *      pinned in the enclave config (`cards.rsaKey`) so offline producers' kmsRsa inputs work;
 *   3. an optional hook that creates more keys and returns enclave-config overrides;
 *   4. N enclaves (separate processes, in an empty network namespace when possible), each booted
 *      with a fresh simulated NSM, as on hardware (PCR16-31 start unlocked and zero);
 *   5. the parent (a separate process).
 * Configs are the schemas' input types, checked before they are written (stack-config.ts). Optional
 * relays ("taps") sit on every socket the parent handles: HTTP, each enclave link, the KMS tunnels
 * and the upstream KMS connection; the tests record through them. Every child holds the lifeline
 * pipe of processes.ts, so none outlives this process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DEFAULT_SCOPES } from '../../parent/http/auth.js';
import { startKmsSimulator, type FaultSettings, type KmsSimulator } from '../../sim/kms/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { credentialsPath, initSimState, loadCredentials, loadSimConfig, loadSimPki, simRoleArn, type SimPrincipal } from '../../sim/state.js';
import type { LogRecord } from '../../shared/log/format.js';
import { packageRoot } from '../package-root.js';
import { createDemoKeys, demoKeyPolicies, ensureDemoKey, kmsClientFor, pinnedKeys, rsaKeyPin, type DemoKeyPolicies, type DemoKeys, type KmsEndpoint, type WrappedKeyFile } from './demo-key.js';
import { canIsolate } from './isolation.js';
import { enclaveProcess } from './stack-enclave.js';
import { startStackStores, type StoreEndpoint } from './stack-stores.js';
import { fileExists, startChild, stopChild, stopWith, waitFor, type Child } from './processes.js';
import { checkedEnclaveConfig, checkedParentConfig, type EnclaveConfigInput, type EnclaveOverrides, type ParentConfigInput, type ParentOverrides } from './stack-config.js';

const repoRoot = packageRoot();
export const DEFAULT_ENCLAVE_BUNDLE = path.join(repoRoot, 'dist', 'enclave.js');
const CLI_BIN = path.join(repoRoot, 'bin', 'enclavekit.js');
/** The parent accepts at most this many enclaves (parent/config.ts). */
export const MAX_ENCLAVES = 4;

type SimPki = Awaited<ReturnType<typeof loadSimPki>>;
export type SimRole = 'admin' | 'enclave' | 'client';

/** A relay in front of `target` (test/e2e/tap.ts records; anything with this shape will do). */
export type TapFactory = (listen: { path: string } | { port: 0 }, target: () => net.NetConnectOpts) => Promise<{ readonly address: string | number; close(): Promise<void> }>;

/** The KMS endpoint the stack runs, as clients need it. */
export interface StackKms extends KmsEndpoint {
  caPem: string | null;
  /** The in-process simulator (fault settings at runtime), absent when it runs as a child. */
  sim: KmsSimulator | undefined;
}

/** What the key hook gets: an admin KMS client and where things are, before any enclave boots. */
export interface StackSetup {
  dir: string;
  account: string;
  kms: StackKms;
  admin: KMSClient;
  principal(role: SimRole): SimPrincipal;
  /** PCRs the enclaves will report (policies may bind to them). */
  pcrs: Record<number, string>;
  /** PCR0 the demo key policies were bound to. */
  policyPcr0: string;
  /** The internal key (sealed secrets go under it; the admin may Encrypt with purpose=secret). */
  internalKeyArn: string;
  /** The Parameter Store and Secrets Manager simulators (put sealed secrets before the enclaves boot). */
  ssm: StoreEndpoint;
  secretsManager: StoreEndpoint;
}

export interface LocalStackOptions {
  /** State and runtime files; default a new temporary directory that close() removes. */
  dir?: string;
  /** How many enclaves (1..4, default 1). */
  enclaves?: number;
  /** The enclave program (default dist/enclave.js); the simulated NSM measures it. */
  bundle?: string;
  /** The bundle the key policies are bound to (default: the one that runs). */
  policyBundle?: string;
  /** argv (after node) that runs the CLI with `args`; default bin/enclavekit.js. */
  cliArgv?: (args: string[]) => string[];
  /** Run enclaves in an empty network namespace (default: when possible). */
  isolate?: boolean;
  /** Run the KMS simulator as a child process (`enclavekit sim kms`) rather than in this one. */
  kmsAsChild?: boolean;
  kmsFaults?: Partial<FaultSettings>;
  /** Seeds the simulator's injected-fault draws (deterministic fault tests). */
  kmsFaultSeed?: number;
  /**
   * Keep keys across runs: the demo keys under their aliases and the wrapped keys in this file
   * (what `dev` does). Default: new keys every start.
   */
  persistentKeysFile?: string;
  /** Adjusts the demo key policies before the keys are created (fresh keys only). */
  policies?: (policies: DemoKeyPolicies, principal: (role: SimRole) => SimPrincipal) => DemoKeyPolicies;
  /** Runs after the demo keys, before any enclave: create more keys, return enclave-config overrides. */
  beforeEnclaves?: (setup: StackSetup) => Promise<EnclaveOverrides | void>;
  /** Merged into every enclave's config (after the hook's overrides). */
  enclaveConfig?: EnclaveOverrides;
  /** Merged into the parent's config (apiTokens replaces the default token list). */
  parentConfig?: ParentOverrides;
  /** Parent HTTP port (default 0: any free port). */
  port?: number;
  /** Relays on the parent's sockets (tests record through them). */
  tap?: TapFactory;
  /** Extra node flags for the enclaves and the parent (e.g. --cpu-prof). */
  nodeFlags?: readonly string[];
  /** Extra environment of the enclaves and the parent. */
  env?: NodeJS.ProcessEnv;
  /** Children's output to files in `dir` instead of pipes (benchmarks). */
  logsToFiles?: boolean;
  /** Every line a child prints, as a record. */
  onRecord?: (record: LogRecord) => void;
  /** Each child as it starts (a supervisor stops them on a signal). */
  onChild?: (child: Child) => void;
  /** Where the simulated NSM's banner goes; default none (silent). */
  announceTo?: { write(text: string): unknown };
  /** Readiness: wait for /readyz (default true). */
  waitReady?: boolean;
}

export interface StackEnclave {
  index: number;
  /** Its message socket (what the parent connects to, behind the link tap if any). */
  socket: string;
  configFile: string;
  config: EnclaveConfigInput;
  child(): Child | undefined;
  /** Everything it printed (empty when logs go to files: see logFile). */
  output(): string;
  logFile: string;
  /** Boots it with a fresh simulated NSM; resolves once it listens. `spawnedAt` is performance.now() at spawn. */
  start(): Promise<{ spawnedAt: number }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The link tap in front of its socket, if any. */
  tap: Awaited<ReturnType<TapFactory>> | undefined;
}

export interface LocalStack {
  dir: string;
  simDir: string;
  runDir: string;
  account: string;
  kms: StackKms;
  pki: SimPki;
  pcrs: Record<number, string>;
  /** The card key (producers seal under it). */
  keyArn: string;
  /** The internal key (wraps the enclave's own keys; no producer grant). */
  internalKeyArn: string;
  /** The RSA key offline producers seal to (kmsRsa inputs; the producer may only GetPublicKey). */
  rsaKeyArn: string;
  /** The Parameter Store and Secrets Manager simulators (their own endpoints, not the taps). */
  ssm: StoreEndpoint;
  secretsManager: StoreEndpoint;
  wrappedKeys: Record<string, WrappedKeyFile>;
  isolated: boolean;
  enclaves: StackEnclave[];
  parentConfig: ParentConfigInput;
  parentConfigFile: string;
  parentLogFile: string;
  /** The parent's own URL (no tap). */
  parentUrl: string;
  /** Where to call the API: the HTTP tap if any, else the parent. */
  apiUrl: string;
  taps: {
    http?: Awaited<ReturnType<TapFactory>>;
    tunnel?: Awaited<ReturnType<TapFactory>>;
    kms?: Awaited<ReturnType<TapFactory>>;
    ssm?: Awaited<ReturnType<TapFactory>>;
    secretsManager?: Awaited<ReturnType<TapFactory>>;
  };
  principal(role: SimRole): SimPrincipal;
  parent(): Child;
  parentOutput(): string;
  startParent(): Promise<void>;
  stopParent(signal?: NodeJS.Signals): Promise<void>;
  /** Every running child (KMS simulator when a child, enclaves, parent). */
  children(): Child[];
  /** Polls /readyz every `intervalMs` until 200; resolves with performance.now() at that answer. */
  waitReady(timeoutMs?: number, intervalMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const enclaveCount = options.enclaves ?? 1;
  if (!Number.isInteger(enclaveCount) || enclaveCount < 1 || enclaveCount > MAX_ENCLAVES) throw new RangeError(`enclaves must be 1..${MAX_ENCLAVES}`);
  const bundle = options.bundle ?? DEFAULT_ENCLAVE_BUNDLE;
  if (!existsSync(bundle)) throw new Error(`${path.relative(process.cwd(), bundle) || bundle} is missing: run \`npm run build\``);
  const ownDir = options.dir === undefined;
  const dir = options.dir === undefined ? await mkdtemp(path.join(tmpdir(), 'ek-stack-')) : path.resolve(options.dir);
  const simDir = path.join(dir, 'sim');
  const runDir = path.join(dir, 'run');
  const cliArgv = options.cliArgv ?? ((args: string[]) => [CLI_BIN, ...args]);
  const nodeFlags = options.nodeFlags ?? [];
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env };
  const children: Child[] = [];
  const track = (child: Child): Child => {
    children.push(child);
    options.onChild?.(child);
    return child;
  };
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    // Nothing of an earlier run may be taken for this one's (a parent.url naming a dead port).
    await rm(runDir, { recursive: true, force: true });
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    // Backdated a day, so a host whose clock runs a little behind still accepts the simulated PKI.
    await initSimState(simDir, { now: Date.now() - 86_400_000 });
    const { account } = await loadSimConfig(simDir);
    const principals = await loadCredentials(simDir);
    const principal = (role: SimRole): SimPrincipal => {
      const found = principals.find((p) => p.arn === simRoleArn(account, role));
      if (found === undefined) throw new Error(`no ${role} principal in ${credentialsPath(simDir)}`);
      return found;
    };

    // 1. The KMS simulator.
    let kms: StackKms;
    if (options.kmsAsChild === true) {
      const kmsJson = path.join(simDir, 'kms.json');
      await rm(kmsJson, { force: true });
      if (options.kmsFaults !== undefined || options.kmsFaultSeed !== undefined) throw new TypeError('kmsFaults and kmsFaultSeed need the in-process KMS simulator');
      const child = track(startChild('kms', process.execPath, [...cliArgv(['sim', 'kms', '--state', simDir, '--port', '0'])], { env, ...(options.onRecord ? { onRecord: options.onRecord } : {}) }));
      closers.push(() => stopChild(child));
      await waitFor('the KMS simulator', () => fileExists(kmsJson), 30_000, children);
      const endpoint = JSON.parse(await readFile(kmsJson, 'utf8')) as KmsEndpoint;
      kms = { ...endpoint, caPem: endpoint.caFile === null ? null : await readFile(endpoint.caFile, 'utf8'), sim: undefined };
    } else {
      const sim = await startKmsSimulator({
        stateDir: simDir,
        silent: true,
        ...(options.kmsFaults ? { faults: options.kmsFaults } : {}),
        ...(options.kmsFaultSeed === undefined ? {} : { faultSeed: options.kmsFaultSeed }),
      });
      closers.push(() => sim.close());
      kms = { endpoint: sim.endpoint, region: sim.region, caFile: sim.caFile, caPem: sim.caPem, sim };
    }
    const kmsUrl = new URL(kms.endpoint);

    // 2. The measurement and the demo keys bound to it.
    const enclaveRoleArn = simRoleArn(account, 'enclave');
    const instanceId = randomInstanceId();
    const pcrs = measureEnclave({ appBundle: readFileSync(bundle), roleArn: enclaveRoleArn, instanceId });
    const policyPcr0 = options.policyBundle === undefined ? pcrs[0]! : measureEnclave({ appBundle: readFileSync(options.policyBundle) })[0]!;
    const pki = await loadSimPki(simDir, Date.now());
    const admin = await kmsClientFor(kms, principal('admin'));
    closers.push(async () => admin.destroy());
    let keys: DemoKeys;
    if (options.persistentKeysFile !== undefined) {
      keys = await ensureDemoKey({ kms, account, admin: principal('admin'), enclaveRoleArn, producerArn: principal('client').arn, pcr0: policyPcr0, wrappedKeysFile: options.persistentKeysFile });
    } else {
      const base = demoKeyPolicies({ account, adminArn: principal('admin').arn, enclaveRoleArn, producerArn: principal('client').arn, pcr0: policyPcr0 });
      keys = await createDemoKeys(admin, options.policies?.(base, principal) ?? base, path.basename(dir));
    }
    const producer = await kmsClientFor(kms, principal('client'));
    const rsaKey = await rsaKeyPin(producer, keys.rsaKeyArn).finally(() => producer.destroy());

    // The Parameter Store and Secrets Manager simulators: the enclave reads sealed secrets there.
    const stores = await startStackStores(simDir);
    closers.push(() => stores.close());

    // 3. The hook.
    const hooked =
      (await options.beforeEnclaves?.({ dir, account, kms, admin, principal, pcrs, policyPcr0, internalKeyArn: keys.internalKeyArn, ssm: stores.ssm, secretsManager: stores.secretsManager })) ?? undefined;

    // Taps: enclave → KMS upstream, enclave → parent proxy, parent → each enclave.
    const proxySocket = path.join(runDir, 'proxy.sock');
    const tap = options.tap;
    const kmsTap = tap === undefined ? undefined : await tap({ port: 0 }, () => ({ host: '127.0.0.1', port: Number(kmsUrl.port) }));
    if (kmsTap) closers.push(() => kmsTap.close());
    const tunnelTap = tap === undefined ? undefined : await tap({ path: path.join(runDir, 'proxy-tap.sock') }, () => ({ path: proxySocket }));
    if (tunnelTap) closers.push(() => tunnelTap.close());
    const kmsEndpoint = kmsTap === undefined ? kms.endpoint : `https://127.0.0.1:${kmsTap.address as number}`;
    const kmsTarget = kmsTap === undefined ? `${kmsUrl.hostname}:${kmsUrl.port || '443'}` : `127.0.0.1:${kmsTap.address as number}`;
    // The stores, tapped like KMS; the parent's allowlist names them (docs/secrets.md "Allowlist").
    const storeRoutes: { endpoint: string; target: string; tap: Awaited<ReturnType<TapFactory>> | undefined }[] = [];
    for (const store of [stores.ssm, stores.secretsManager]) {
      const url = new URL(store.endpoint);
      const storeTap = tap === undefined ? undefined : await tap({ port: 0 }, () => ({ host: '127.0.0.1', port: Number(url.port) }));
      if (storeTap) closers.push(() => storeTap.close());
      storeRoutes.push(
        storeTap === undefined
          ? { endpoint: store.endpoint, target: `${url.hostname}:${url.port || '443'}`, tap: undefined }
          : { endpoint: `${url.protocol}//127.0.0.1:${storeTap.address as number}`, target: `127.0.0.1:${storeTap.address as number}`, tap: storeTap },
      );
    }
    const [ssmRoute, secretsManagerRoute] = storeRoutes as [(typeof storeRoutes)[number], (typeof storeRoutes)[number]];
    // An enclave given `secrets` (by the hook or the overrides) reaches the stores through those routes.
    const wantsSecrets = (hooked as { secrets?: unknown } | undefined)?.secrets !== undefined || (options.enclaveConfig as { secrets?: unknown } | undefined)?.secrets !== undefined;
    const storeEndpoints = wantsSecrets ? { secrets: { ssm: { endpoint: ssmRoute.endpoint }, secretsManager: { endpoint: secretsManagerRoute.endpoint } } } : undefined;

    // 4. The enclaves.
    const isolated = options.isolate ?? canIsolate();
    const enclaves: StackEnclave[] = [];
    const linkUrls: string[] = [];
    for (let index = 0; index < enclaveCount; index++) {
      const suffix = index === 0 ? '' : `-${index}`;
      const socket = path.join(runDir, `enclave${suffix}.sock`);
      const nsmSocket = path.join(runDir, `nsm${suffix}.sock`);
      const configFile = path.join(runDir, `enclave${suffix}.json`);
      const logFile = path.join(dir, `enclave${suffix}.log`);
      const config = checkedEnclaveConfig(
        {
          listen: `unix://${socket}`,
          proxy: `unix://${tunnelTap === undefined ? proxySocket : (tunnelTap.address as string)}`,
          nsm: `sim+unix://${nsmSocket}`,
          kms: { region: kms.region, endpoint: kmsEndpoint, ...(kms.caFile === null ? {} : { caFile: kms.caFile }) },
          cards: { cardKeyArn: keys.keyArn, rsaKey },
          keys: pinnedKeys(keys.wrappedKeys),
        },
        storeEndpoints as EnclaveOverrides | undefined,
        hooked ?? undefined,
        options.enclaveConfig,
      );
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      const linkTap = tap === undefined ? undefined : await tap({ path: path.join(runDir, `link-tap${suffix}.sock`) }, () => ({ path: socket }));
      if (linkTap) closers.push(() => linkTap.close());
      linkUrls.push(`unix://${linkTap === undefined ? socket : (linkTap.address as string)}`);

      const proc = enclaveProcess({
        name: enclaveCount === 1 ? 'enclave' : `enclave-${index}`,
        bundle,
        configFile,
        socket,
        nsmSocket,
        nsm: () => new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(Date.now(), instanceId), ...(options.announceTo === undefined ? { silent: true } : { announceTo: options.announceTo }) }),
        isolate: isolated,
        nodeFlags,
        env,
        logFile: options.logsToFiles === true ? logFile : undefined,
        onRecord: options.onRecord,
        onChild: (child) => void track(child),
      });
      closers.push(() => proc.close());
      const enclave: StackEnclave = { index, socket, configFile, config, logFile, tap: linkTap, child: proc.child, output: proc.output, start: proc.start, stop: proc.stop };
      enclaves.push(enclave);
    }
    for (const enclave of enclaves) await enclave.start();

    // 5. The parent.
    const parentConfigFile = path.join(runDir, 'parent.json');
    const parentLogFile = path.join(dir, 'parent.log');
    const defaultToken = { token: `stack-token-${path.basename(dir)}-0123456789`, scopes: [...DEFAULT_SCOPES] };
    const parentConfig = checkedParentConfig(
      {
        http: { host: '127.0.0.1', port: options.port ?? 0 },
        apiTokens: [defaultToken],
        enclaves: linkUrls,
        region: kms.region,
        proxy: { listen: `unix://${proxySocket}`, allowlist: [kmsTarget, ssmRoute.target, secretsManagerRoute.target] },
        credentials: { source: 'file', file: credentialsPath(simDir), arn: enclaveRoleArn },
        wrappedKeys: keys.wrappedKeys,
        logFile: parentLogFile,
      },
      options.parentConfig,
    );
    await writeFile(parentConfigFile, `${JSON.stringify(parentConfig, null, 2)}\n`, { mode: 0o600 });
    const urlFile = path.join(runDir, 'parent.url');
    const parentOutFile = path.join(dir, 'parent.out');
    let parent: Child | undefined;
    let parentOut = '';
    let parentUrl = '';
    const startParent = async (): Promise<void> => {
      await rm(urlFile, { force: true });
      const argv = [...nodeFlags, ...cliArgv(['parent', '--config', parentConfigFile, '--url-file', urlFile])];
      const started = track(
        startChild('parent', process.execPath, argv, {
          env,
          ...(options.logsToFiles === true ? { logFile: parentOutFile } : { onOutput: (text: string) => void (parentOut += text) }),
          ...(options.onRecord ? { onRecord: options.onRecord } : {}),
        }),
      );
      parent = started;
      parentUrl = await waitFor('the parent', async () => (existsSync(urlFile) ? (await readFile(urlFile, 'utf8')).trim() || undefined : undefined), 30_000, started);
    };
    closers.push(() => stopWith(parent, 'SIGKILL'));
    await startParent();
    const httpTap = tap === undefined ? undefined : await tap({ port: 0 }, () => ({ host: '127.0.0.1', port: Number(new URL(parentUrl).port) }));
    if (httpTap) closers.push(() => httpTap.close());
    const apiUrl = (): string => (httpTap === undefined ? parentUrl : `http://127.0.0.1:${httpTap.address as number}`);

    const waitReady = (timeoutMs = 120_000, intervalMs = 50): Promise<number> =>
      waitFor(
        'the enclave to become ready',
        async () => {
          try {
            return (await fetch(`${apiUrl()}/readyz`)).ok ? performance.now() : undefined;
          } catch {
            return undefined;
          }
        },
        timeoutMs,
        children.filter((c) => c.process.exitCode === null && c.process.signalCode === null),
        intervalMs,
      );
    if (options.waitReady !== false) await waitReady();

    return {
      dir,
      simDir,
      runDir,
      account,
      kms,
      pki,
      pcrs,
      keyArn: keys.keyArn,
      internalKeyArn: keys.internalKeyArn,
      rsaKeyArn: keys.rsaKeyArn,
      ssm: stores.ssm,
      secretsManager: stores.secretsManager,
      wrappedKeys: keys.wrappedKeys,
      isolated,
      enclaves,
      parentConfig,
      parentConfigFile,
      parentLogFile,
      get parentUrl() {
        return parentUrl;
      },
      get apiUrl() {
        return apiUrl();
      },
      taps: {
        ...(httpTap ? { http: httpTap } : {}),
        ...(tunnelTap ? { tunnel: tunnelTap } : {}),
        ...(kmsTap ? { kms: kmsTap } : {}),
        ...(ssmRoute.tap ? { ssm: ssmRoute.tap } : {}),
        ...(secretsManagerRoute.tap ? { secretsManager: secretsManagerRoute.tap } : {}),
      },
      principal,
      parent: () => parent!,
      parentOutput: () => (options.logsToFiles === true && existsSync(parentOutFile) ? readFileSync(parentOutFile, 'utf8') : parentOut),
      startParent,
      stopParent: (signal = 'SIGTERM') => stopWith(parent, signal),
      children: () => children.filter((c) => c.process.exitCode === null && c.process.signalCode === null),
      waitReady,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
