/**
 * The end-to-end stack for tests: the KMS simulator and the simulated NSM in this process, the
 * enclave and the parent as separate processes (the enclave in an empty network namespace when
 * possible), and a recording tap on every socket the parent handles: HTTP, the enclave link, the
 * enclave's KMS tunnels and the parent's upstream KMS connections.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startLocalStack, DEFAULT_ENCLAVE_BUNDLE, type LocalStackOptions } from '../../cli/dev/stack.js';
import type { EnclaveOverrides } from '../../cli/dev/stack-config.js';
import type { StoreEndpoint } from '../../cli/dev/stack-stores.js';
import { canIsolate } from '../../cli/dev/isolation.js';
import type { KmsSimulator } from '../../sim/kms/index.js';
import type { SimPrincipal } from '../../sim/state.js';
import { DEFAULT_SCOPES } from '../../parent/http/auth.js';
import { kmsClient } from '../kms/harness.js';
import { startTap, type Tap } from './tap.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const ENCLAVE_BUNDLE = DEFAULT_ENCLAVE_BUNDLE;

export { canIsolate };

export interface StackOptions {
  /** The enclave program to run (default dist/enclave.js); the simulated NSM measures it. */
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
  /** Creates more KMS keys before the enclave boots; what it returns is merged into the enclave config. */
  beforeEnclaves?: LocalStackOptions['beforeEnclaves'];
  /** How the CLI runs (e.g. a parent with extra routes); default bin/enclavekit.js. */
  cliArgv?: LocalStackOptions['cliArgv'];
}

export interface Stack {
  dir: string;
  sim: KmsSimulator;
  pcrs: Record<number, string>;
  /** The card key (producers seal under it). */
  keyArn: string;
  /** The internal key (wraps the tokenization and blind-index keys; no producer grant). */
  internalKeyArn: string;
  /** The RSA key offline producers seal to, pinned in the enclave config (`cards.rsaKey`). */
  rsaKeyArn: string;
  parentUrl: string;
  apiToken: string;
  /** A bare-string token (default scopes: tokenize, redact, blind-index; no detokenize). */
  legacyToken: string;
  /** The plaintext wrapped keys, learned through a test-only admin Decrypt grant. */
  plaintextKeys: Record<string, Uint8Array>;
  principal(role: 'admin' | 'enclave' | 'client'): SimPrincipal;
  kms(role: 'admin' | 'enclave' | 'client'): KMSClient;
  /** The Parameter Store and Secrets Manager simulators (their own endpoints). */
  ssm: StoreEndpoint;
  secretsManager: StoreEndpoint;
  taps: { http: Tap; link: Tap; tunnel: Tap; kms: Tap; ssm: Tap; secretsManager: Tap };
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

/** The shared local stack (cli/dev/stack.ts) with recording taps, test tokens and a test-only key grant. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const apiToken = 'e2e-token-0123456789abcdef';
  const legacyToken = 'e2e-legacy-token-0123456789';
  const recipients = Object.keys((options.cards?.['detokenizeRecipients'] ?? {}) as Record<string, string>);
  const enclaveConfig: EnclaveOverrides = {
    kms: { maxAttempts: 3, ...options.kms },
    ...(options.cards === undefined ? {} : { cards: options.cards }),
    ...options.enclaveConfig,
  };
  const local = await startLocalStack({
    ...(options.bundle === undefined ? {} : { bundle: options.bundle }),
    ...(options.policyBundle === undefined ? {} : { policyBundle: options.policyBundle }),
    ...(options.isolate === undefined ? {} : { isolate: options.isolate }),
    ...(options.kmsFaults === undefined ? {} : { kmsFaults: options.kmsFaults }),
    ...(options.kmsFaultSeed === undefined ? {} : { kmsFaultSeed: options.kmsFaultSeed }),
    ...(options.beforeEnclaves === undefined ? {} : { beforeEnclaves: options.beforeEnclaves }),
    ...(options.cliArgv === undefined ? {} : { cliArgv: options.cliArgv }),
    tap: startTap,
    waitReady: false,
    // Test only: the admin may Decrypt under the internal key, so the test knows the plaintext keys
    // the taps must never see.
    policies: (policies, principal) => ({
      ...policies,
      internal: { ...policies.internal, Statement: [...policies.internal.Statement, { Sid: 'TestOnlyAdminDecrypt', Effect: 'Allow' as const, Principal: { AWS: principal('admin').arn }, Action: ['kms:Decrypt'], Resource: '*' as const }] },
    }),
    enclaveConfig,
    parentConfig: {
      // The test token may detokenize to every configured recipient; `legacyToken` is the older
      // bare-string form, with the default scopes (no detokenize).
      apiTokens: [{ token: apiToken, scopes: [...DEFAULT_SCOPES, ...recipients.map((name) => `cards:detokenize:${name}`), ...(options.tokenScopes ?? [])] }, legacyToken],
    },
  });
  const sim = local.kms.sim!;
  const clients = new Map<string, KMSClient>();
  const kms = (role: 'admin' | 'enclave' | 'client'): KMSClient => {
    let c = clients.get(role);
    if (c === undefined) clients.set(role, (c = kmsClient(sim, local.principal(role))));
    return c;
  };
  const plaintextKeys: Record<string, Uint8Array> = {};
  for (const [name, wrapped] of Object.entries(local.wrappedKeys)) {
    const plain = await kms('admin').send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped.ciphertextBlob, 'base64'), EncryptionContext: wrapped.encryptionContext }));
    plaintextKeys[name] = plain.Plaintext!;
  }
  const enclave = local.enclaves[0]!;

  const api = async (pathname: string, init: RequestInit = {}) => {
    const res = await fetch(local.apiUrl + pathname, { ...init, headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json: json as any };
  };

  return {
    dir: local.dir,
    sim,
    pcrs: local.pcrs,
    keyArn: local.keyArn,
    internalKeyArn: local.internalKeyArn,
    rsaKeyArn: local.rsaKeyArn,
    get parentUrl() {
      return local.apiUrl;
    },
    apiToken,
    legacyToken,
    plaintextKeys,
    principal: (role) => local.principal(role),
    kms,
    ssm: local.ssm,
    secretsManager: local.secretsManager,
    taps: {
      http: local.taps.http as Tap,
      link: enclave.tap as Tap,
      tunnel: local.taps.tunnel as Tap,
      kms: local.taps.kms as Tap,
      ssm: local.taps.ssm as Tap,
      secretsManager: local.taps.secretsManager as Tap,
    },
    enclave: () => enclave.child()!.process,
    parent: () => local.parent().process,
    enclaveOutput: () => enclave.output(),
    parentOutput: () => local.parentOutput(),
    parentLog: () => (existsSync(local.parentLogFile) ? readFileSync(local.parentLogFile, 'utf8') : ''),
    startEnclave: async () => void (await enclave.start()),
    stopEnclave: (signal) => enclave.stop(signal),
    restartParent: async () => {
      await local.stopParent('SIGTERM');
      await local.startParent();
    },
    api,
    waitReady: async (timeoutMs = 60_000) => void (await local.waitReady(timeoutMs)),
    close: async () => {
      for (const c of clients.values()) c.destroy();
      await local.close();
    },
  };
}

/** Every byte the parent read or wrote (every tap) and every line it logged or printed. */
export function parentView(stack: Stack): Record<string, Buffer | string> {
  return {
    'the HTTP tap': stack.taps.http.bytes(),
    'the enclave link tap': stack.taps.link.bytes(),
    'the KMS tunnel tap': stack.taps.tunnel.bytes(),
    'the KMS upstream tap': stack.taps.kms.bytes(),
    'the Parameter Store upstream tap': stack.taps.ssm.bytes(),
    'the Secrets Manager upstream tap': stack.taps.secretsManager.bytes(),
    'the parent log file': stack.parentLog(),
    'the parent output': stack.parentOutput(),
  };
}
