/**
 * The enclave's operations called in this process: the comparison point for the whole stack.
 *
 * "The same handler" here means: the enclave config the running enclave was given (parsed by the
 * same parseEnclaveConfig), services built as enclave/runtime.ts builds them (EnclaveIdentity on a
 * SimulatedNsm with the running enclave's PCRs, an AttestedKms with a DataKeyCache sized by that
 * config, a KeyRing loaded from the same wrapped keys through attested KMS Decrypt), the built-in
 * handlers registered by registerBuiltinHandlers on a HandlerRegistry, and each call going through
 * `registry.dispatch` (the operation's input schema, then the handler). Inputs are what the
 * enclave receives after the RPC layer has decoded a frame: byte fields as Uint8Array.
 *
 * What it leaves out is exactly the hop being measured: the client's JSON and HTTP, the parent's
 * routing, auth, body parsing and envelope checks, RPC framing both ways and the enclave's RPC
 * dispatch (readiness check, per-request AbortSignal). The one other difference: this KMS client
 * talks to the simulator directly rather than through the parent's tunnel, which only matters on a
 * data-key cache miss (the scenarios warm the caches first).
 *
 * `workers` (default 0: everything on this thread) starts the enclave's worker pool as the runtime
 * does (enclave/workers/pool.ts); its threads run the bundle-free TypeScript sources through tsx.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { registerBuiltinHandlers } from '../../enclave/app/handlers.js';
import { HandlerRegistry } from '../../enclave/app/registry.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { EnclaveIdentity } from '../../enclave/identity.js';
import { KeyRing } from '../../enclave/key-ring.js';
import { AttestedKms } from '../../enclave/kms/attested-kms.js';
import { DataKeyCache } from '../../enclave/kms/data-key-cache.js';
import type { EnclaveServices } from '../../enclave/runtime.js';
import { noSecrets } from '../../enclave/secrets/sealed-secrets.js';
import { poolForServices } from '../../enclave/workers/pool.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { kmsClient } from './kms-client.js';
import type { BenchStack } from './stack.js';

export interface InProcessEnclave {
  services: EnclaveServices;
  registry: HandlerRegistry;
  /** KMS calls by operation since start (AttestedKms onCall). */
  kmsCalls: Record<string, number>;
  call(op: string, body: unknown): Promise<unknown>;
  /** Resolves when the pool's workers (if any) are ready. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function startInProcessEnclave(
  stack: Pick<BenchStack, 'enclaveConfig' | 'pki' | 'pcrs' | 'sim' | 'principal' | 'wrappedKeys'>,
  options: { workers?: number } = {},
): Promise<InProcessEnclave> {
  const config = parseEnclaveConfig(stack.enclaveConfig);
  const nsm = new SimulatedNsm({ pki: stack.pki, pcrs: stack.pcrs, silent: true });
  const identity = await EnclaveIdentity.create(nsm);
  const client: KMSClient = kmsClient(stack.sim, stack.principal('enclave'));
  const kmsCalls: Record<string, number> = {};
  const kms = new AttestedKms({
    client,
    attest: () => identity.attest(),
    recipientKey: identity.recipientKey,
    cache: new DataKeyCache(config.cache),
    onCall: (operation) => {
      kmsCalls[operation] = (kmsCalls[operation] ?? 0) + 1;
    },
  });
  const keys = new KeyRing();
  for (const [name, wrapped] of Object.entries(stack.wrappedKeys)) {
    const { Plaintext } = await kms.decrypt({ CiphertextBlob: Buffer.from(wrapped.ciphertextBlob, 'base64'), KeyId: wrapped.keyId, EncryptionContext: wrapped.encryptionContext });
    keys.set(name, Plaintext);
  }
  const workers = (options.workers ?? 0) > 0 && config.cards !== undefined ? poolForServices({ identity, kms, keys }, config.cards, options.workers!) : undefined;
  const services: EnclaveServices = { identity, kms, keys, secrets: noSecrets(), ...(workers === undefined ? {} : { workers }) };
  const registry = new HandlerRegistry();
  registerBuiltinHandlers(registry, services, config);
  const signal = new AbortController().signal;
  return {
    services,
    registry,
    kmsCalls,
    call: (op, body) => registry.dispatch(op, body, { signal }),
    ready: async () => workers?.whenReady(),
    close: async () => {
      await workers?.close();
      keys.clear();
      kms.cache.clear();
      client.destroy();
    },
  };
}
