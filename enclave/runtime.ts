/**
 * The enclave process: boots its identity on the NSM, measures its configuration into PCR16,
 * serves the parent over the message link, and reaches KMS only through attested, tunnelled
 * TLS. Transports and the NSM are injected, so the same code runs on vsock + /dev/nsm in a real
 * enclave and on Unix sockets + the simulator in dev and CI.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { parseAttestation } from '../shared/attestation/index.js';
import { EnclaveKitError, InputError, ServiceError } from '../shared/errors.js';
import type { FrameChannel } from '../shared/protocol/channel.js';
import { RpcPeer, type RpcHandler } from '../shared/protocol/rpc.js';
import type { Nsm } from '../shared/nsm/types.js';
import { HandlerRegistry } from './app/registry.js';
import type { EnclaveConfig } from './config.js';
import { parentCredentialProvider } from './credentials.js';
import { EnclaveIdentity } from './identity.js';
import { AttestedKms } from './kms/attested-kms.js';
import { DataKeyCache } from './kms/data-key-cache.js';
import { createEnclaveKmsClient } from './kms/kms-client.js';
import { KeyRing } from './key-ring.js';
import { openSealedSecret } from './secrets/open-secret.js';
import { noSecrets, SealedSecrets, type Secrets } from './secrets/sealed-secrets.js';
import { createStoreSource } from './secrets/store-source.js';
import type { EventFields, EventLevel } from './boot-report.js';
import { openBootLink } from './boot-link.js';
import { poolForServices, workerCount, type WorkerPool } from './workers/pool.js';

/** PCR16 carries SHA-384 of the enclave configuration, then is locked (docs/security.md). */
export const CONFIG_PCR = 16;

export interface EnclaveDeps {
  config: Readonly<EnclaveConfig>;
  /** The exact configuration bytes (what PCR16 measures). */
  configBytes: Uint8Array;
  /** Opens the NSM: a boot step, so a missing device or simulator is reported like any failure. */
  openNsm: () => Promise<Nsm>;
  listenChannels: (url: string, onChannel: (channel: FrameChannel) => void) => Promise<{ close(): Promise<void> | void }>;
  openStream: (url: string) => Promise<Duplex>;
  /** Operations beyond the built-in ones (cards, PII, your own). */
  registerHandlers?: (registry: HandlerRegistry, services: EnclaveServices) => void;
  log?: (event: string, fields: EventFields, level: EventLevel) => void;
  /**
   * After a failed boot, how long the link keeps answering `status` so a parent can learn why,
   * ms (default 15 000). It ends as soon as a parent has acknowledged the `boot-failed` event.
   */
  bootFailureHoldMs?: number;
  /**
   * Called once if, after boot, the enclave can no longer do its job (its worker threads cannot be
   * started): the caller stops it and exits non-zero (enclave/run.ts).
   */
  onFatal?: (error: EnclaveKitError) => void;
}

/** What handlers may use. Plaintext keys stay behind these objects. */
export interface EnclaveServices {
  identity: EnclaveIdentity;
  kms: AttestedKms;
  keys: KeyRing;
  /** Sealed secrets (config `secrets`); with none configured, every name is unknown. */
  secrets: Secrets;
  /**
   * The built-in operations' worker threads (enclave/workers/pool.ts), when `cards` is configured and
   * `workers` is not 0; started by registerBuiltinHandlers. Custom handlers run on the main thread.
   */
  workers?: WorkerPool;
}

export interface RunningEnclave {
  readonly services: EnclaveServices;
  ready(): { ready: boolean; reason?: string };
  close(): Promise<void>;
}

const wrappedKeySchema = z.strictObject({
  ciphertextBlob: z.instanceof(Uint8Array),
  keyId: z.string().min(1).max(2048),
  encryptionContext: z.record(z.string(), z.string()).optional(),
});
const keysLoadSchema = z.strictObject({ keys: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), wrappedKeySchema) });
const attestationSchema = z.strictObject({ nonce: z.instanceof(Uint8Array).optional() }).or(z.strictObject({}));

export async function startEnclave(deps: EnclaveDeps): Promise<RunningEnclave> {
  // Logs go to stderr (the console, readable only in debug mode) and, in production the only way
  // out, to the parent as structured events; the parent's redaction guard checks every field.
  const link = await openBootLink({ listen: deps.config.listen, listenChannels: deps.listenChannels, ...(deps.log === undefined ? {} : { log: deps.log }) });
  let nsm: Nsm | undefined;
  try {
    nsm = await deps.openNsm();
    const running = await bootServices(deps, nsm, link.log, () => link.latestPeer(), () => ({ logsDropped: link.logsDropped() }));
    link.ready(running.handlers);
    const openNsm = nsm;
    return {
      services: running.services,
      ready: running.readiness,
      async close() {
        await link.close();
        await running.close();
        await openNsm.close?.();
      },
    };
  } catch (error) {
    await link.fail(error, deps.bootFailureHoldMs);
    await nsm?.close?.();
    throw error;
  }
}

interface BootedServices {
  services: EnclaveServices;
  handlers: Record<string, RpcHandler>;
  readiness: () => { ready: boolean; reason?: string };
  close(): Promise<void>;
}

/** Everything the boot does after the link listener: measure, attest, KMS, handlers. */
async function bootServices(
  deps: EnclaveDeps,
  nsm: Nsm,
  log: (event: string, fields?: EventFields, level?: EventLevel) => void,
  latestPeer: () => RpcPeer | undefined,
  counters: () => { logsDropped: number },
): Promise<BootedServices> {
  const { config } = deps;
  // Measure the configuration before anything else can happen, then freeze the register.
  await nsm.extendPcr(CONFIG_PCR, createHash('sha384').update(deps.configBytes).digest());
  await nsm.lockPcr(CONFIG_PCR);
  const pcr0 = await nsm.describePcr(0);
  const debugMode = pcr0.data.every((b) => b === 0);
  if (debugMode && config.refuseDebugMode) {
    throw new ServiceError('ERR_CONFIG', 'debug-mode enclave (PCR0 is zero) and refuseDebugMode is set');
  }

  const identity = await EnclaveIdentity.create(nsm);
  log('identity-ready', { debugMode });
  // Clock check against the NSM: our clock minus the timestamp of the latest document we made.
  let attestationClockOffsetMs: number | undefined;
  const attest = async (nonce?: Uint8Array): Promise<Uint8Array> => {
    const document = await identity.attest(nonce);
    attestationClockOffsetMs = Date.now() - parseAttestation(document).timestamp;
    return document;
  };
  await attest();
  const kmsCalls: Record<string, { calls: number; errors: number }> = {};

  const credentials = parentCredentialProvider(async () => {
    const peer = latestPeer();
    if (peer === undefined) throw new ServiceError('ERR_NOT_READY', 'no parent connected to supply credentials');
    return peer.request('credentials', {}, { deadlineMs: 10_000 });
  });
  const { client, agent } = createEnclaveKmsClient(config, () => deps.openStream(config.proxy), credentials);
  const kms = new AttestedKms({
    client,
    attest: () => attest(),
    recipientKey: identity.recipientKey,
    cache: new DataKeyCache(config.cache),
    onCall: (operation, outcome) => {
      const counts = (kmsCalls[operation] ??= { calls: 0, errors: 0 });
      counts.calls += 1;
      if (outcome === 'error') counts.errors += 1;
      log('kms-call', { operation, outcome });
    },
  });
  const keys = new KeyRing();
  const secretsConfig = config.secrets;
  const secrets =
    secretsConfig === undefined
      ? noSecrets()
      : new SealedSecrets({
          items: secretsConfig.items,
          source: createStoreSource(config, () => deps.openStream(config.proxy), credentials),
          open: (item, stored) => openSealedSecret(kms, secretsConfig.keyArn, item, stored),
          pollIntervalMs: secretsConfig.pollIntervalMs,
          retireAfterMs: secretsConfig.retireAfterMs,
          ...(secretsConfig.maxStaleMs === undefined ? {} : { maxStaleMs: secretsConfig.maxStaleMs }),
          log: (event, fields, level) => log(event, fields, level),
        });
  const poolSize = config.cards === undefined ? 0 : workerCount(config);
  const workers =
    config.cards === undefined || poolSize === 0
      ? undefined
      : poolForServices({ identity, kms, keys }, config.cards, poolSize, (event, fields, level) => log(event, fields, level), (error) => {
          log('worker-pool-failed', { code: error.code, message: error.message }, 'error');
          deps.onFatal?.(error);
        });
  const services: EnclaveServices = { identity, kms, keys, secrets, ...(workers === undefined ? {} : { workers }) };
  const registry = new HandlerRegistry();
  deps.registerHandlers?.(registry, services);

  let keysLoaded = false;
  let lastKeyError: string | undefined;
  // Ready once the wrapped keys and every configured secret are loaded (docs/secrets.md) and, with
  // a worker pool, while it can take the built-in operations (WorkerPool.canServe).
  const readiness = (): { ready: boolean; reason?: string } => {
    if (!keysLoaded) return { ready: false, reason: lastKeyError ?? 'waiting for keys from the parent' };
    const secretsReason = secrets.reason();
    if (secretsReason !== undefined) return { ready: false, reason: secretsReason };
    if (workers !== undefined && !workers.canServe()) return { ready: false, reason: 'no enclave worker thread is running or starting' };
    return { ready: true };
  };

  const builtIns: Record<string, RpcHandler> = {
    status: async () => {
      const cache = kms.cache.stats();
      return {
        ...readiness(),
        now: Date.now(),
        boot: { outcome: 'ready' },
        debugMode,
        ops: registry.ops(),
        stats: {
          kms: kmsCalls,
          dataKeyCache: { hits: cache.hits, misses: cache.misses },
          clockOffsetMs: attestationClockOffsetMs === undefined ? {} : { attestation: attestationClockOffsetMs },
          logsDropped: counters().logsDropped,
          ...(secretsConfig === undefined ? {} : { secrets: secrets.stats() }),
          // The worker pool: threads configured, alive now, ready for tasks, and replaced after dying (restarts).
          ...(workers === undefined ? {} : { workers: (({ size, live, ready, restarts }) => ({ size, live, ready, restarts }))(workers.stats()) }),
        },
      };
    },
    attestation: async (body) => {
      // safeParse: zod's exception for a malformed request surfaced as ERR_INTERNAL (a 500 and
      // a handler-error log line for the caller's mistake). Found by test/faults/flood.test.ts.
      const parsed = attestationSchema.safeParse(body ?? {});
      if (!parsed.success) throw new InputError('ERR_BAD_REQUEST', 'attestation: nonce must be bytes');
      const { nonce } = parsed.data as { nonce?: Uint8Array };
      return { document: await attest(nonce) };
    },
    'keys.load': async (body) => {
      const parsed = keysLoadSchema.safeParse(body);
      if (!parsed.success) throw new InputError('ERR_BAD_REQUEST', 'keys.load: malformed wrapped keys');
      try {
        const loaded = await unwrapPinnedKeys(parsed.data.keys, config.keys, kms);
        // Workers get copies only of keys that changed: a parent repeating keys.load sends nothing.
        if (keys.setAll(loaded)) workers?.loadKeys();
        keysLoaded = true;
        lastKeyError = undefined;
        // The store reads sign with credentials only a connected parent supplies: the first
        // successful keys.load is when they are at hand, so the secrets start loading then.
        if (secretsConfig !== undefined) secrets.start();
        log('keys-loaded', { count: loaded.size });
        return { loaded: [...loaded.keys()] };
      } catch (error) {
        lastKeyError = `key load failed (${error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL'})`;
        log('keys-load-failed', { code: error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL' }, 'error');
        throw error;
      }
    },
  };
  const handlers: Record<string, RpcHandler> = { ...builtIns };
  for (const op of registry.ops()) {
    handlers[op] = async (body, ctx) => {
      if (!keysLoaded) throw new ServiceError('ERR_NOT_READY', 'enclave keys not loaded');
      // The RPC context makes its AbortSignal (and a deadline timer) on first read: pass it on
      // lazily, so handlers that never look at it never pay for it.
      return registry.dispatch(op, body, {
        get signal() {
          return ctx.signal;
        },
      });
    };
  }

  return {
    services,
    handlers,
    readiness,
    async close() {
      // Workers first: they zero their key copies and exit before the keys they came from go.
      await workers?.close();
      await secrets.close();
      agent.destroy();
      client.destroy();
      keys.clear();
      kms.cache.clear();
    },
  };
}

/** Bytes of each wrapped key: AES-256 (FF1) and HMAC-SHA256 (blind index) keys. */
const WRAPPED_KEY_BYTES = 32;

/**
 * Unwraps the keys the parent handed over, but only the ones the measured configuration pins,
 * under exactly the pinned KMS key and encryption context: the parent supplies ciphertext, never
 * the choice of key. All are unwrapped before any is used, so a failure changes nothing.
 */
async function unwrapPinnedKeys(
  offered: Readonly<Record<string, { ciphertextBlob: Uint8Array; keyId: string; encryptionContext?: Record<string, string> | undefined }>>,
  pinned: Readonly<Record<string, { keyId: string; encryptionContext: Record<string, string>; ciphertextSha256: string }>>,
  kms: AttestedKms,
): Promise<Map<string, Uint8Array>> {
  const names = Object.keys(pinned);
  if (names.length === 0) throw new ServiceError('ERR_CONFIG', 'keys.load: the enclave configuration pins no keys');
  const unknown = Object.keys(offered).filter((name) => !Object.hasOwn(pinned, name));
  if (unknown.length > 0) throw new InputError('ERR_KEY_NOT_PINNED', `keys.load: ${unknown.length} key(s) not pinned in the enclave configuration`);
  const result = new Map<string, Uint8Array>();
  try {
    for (const name of names) {
      const pin = pinned[name]!;
      const wrapped = offered[name];
      if (wrapped === undefined) throw new InputError('ERR_KEY_NOT_PINNED', `keys.load: missing ${name}`);
      if (wrapped.keyId !== pin.keyId || !sameContext(wrapped.encryptionContext ?? {}, pin.encryptionContext)) {
        throw new InputError('ERR_KEY_NOT_PINNED', `keys.load: ${name} is not under the pinned KMS key and encryption context`);
      }
      if (createHash('sha256').update(wrapped.ciphertextBlob).digest('hex') !== pin.ciphertextSha256) {
        throw new InputError('ERR_KEY_NOT_PINNED', `keys.load: ${name} is not the pinned wrapped key`);
      }
      const { Plaintext, KeyId } = await kms.decrypt({ CiphertextBlob: wrapped.ciphertextBlob, KeyId: pin.keyId, EncryptionContext: pin.encryptionContext });
      result.set(name, Plaintext);
      if (KeyId !== pin.keyId) throw new ServiceError('ERR_KMS_REJECTED', `keys.load: KMS answered ${name} with another key`);
      if (Plaintext.length !== WRAPPED_KEY_BYTES) throw new InputError('ERR_KEY_NOT_PINNED', `keys.load: ${name} must be a ${WRAPPED_KEY_BYTES}-byte key`);
    }
    return result;
  } catch (error) {
    for (const key of result.values()) key.fill(0);
    throw error;
  }
}

function sameContext(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
