/**
 * startKmsSimulator: the KMS simulator as an in-process server (tests) or behind
 * `enclavekit sim kms` (cli/commands/sim/kms.ts). HTTPS with the state directory's own CA unless
 * `http: true`; writes DIR/kms.json {"endpoint", "region", "caFile"} so other programs find it.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ServiceError } from '../../shared/errors.js';
import { discoveryPath, serveJsonService, type ServeOptions, type ServiceDiscovery } from '../json-service/serve.js';
import { loadCredentials, loadSimConfig, simRootPemPath } from '../state.js';
import { accountOfPrincipal } from './arn.js';
import { DEFAULT_FAULTS, mergeFaultSettings, QuotaSet, seededRandom, type FaultSettings } from './faults.js';
import { handleKmsRequest, type HandlerState } from './http-handler.js';
import { KeyStore } from './key-store.js';
import { PolicyCache } from './operations/context.js';
import { parseIdentityPolicy, type KeyPolicy } from './policy/index.js';
import { DEFAULT_ATTESTATION_MAX_AGE_MS } from './recipient.js';
import type { KmsPrincipal } from './sigv4.js';

/** stateDir: the simulator state directory (`enclavekit sim init`): credentials, Nitro root, and DIR/kms/. */
export interface KmsSimulatorOptions extends ServeOptions {
  /** Region of the endpoint (SigV4 scope and ARNs); default: the state's sim.json region. */
  region?: string;
  /** Principals allowed to sign; default DIR/credentials.json (with an optional `sessionToken` each). */
  principals?: readonly KmsPrincipal[];
  /** Trust anchors for Recipient attestation documents; default the state's simulated Nitro root. */
  attestationRoots?: readonly (string | Uint8Array)[];
  /** Freshness window for Recipient documents, ms; default 300,000 (5 minutes). */
  attestationMaxAgeMs?: number;
  /** Initial latency, injected errors and quota (see FaultSettings); changeable at runtime. */
  faults?: Partial<FaultSettings>;
  /** Seed of the injected-error draw; default random. */
  faultSeed?: number;
  /** Server clock, ms since the epoch: SigV4 skew, attestation freshness, quota, dates. Default Date.now. */
  now?: () => number;
  /** Sets kms:ViaService on every request (tests of service-conditioned policies). Default absent. */
  viaService?: string;
  /** Unexpected internal failures; default: one line on stderr. */
  onInternalError?: (error: unknown) => void;
}

export interface KmsSimulator {
  /** e.g. https://127.0.0.1:43127 */
  endpoint: string;
  region: string;
  port: number;
  /** The CA certificate file clients must trust (null with `http`). */
  caFile: string | null;
  caPem: string | null;
  /** Current fault settings (a copy). */
  faults(): FaultSettings;
  /** Merges a partial update (as POST /__sim/faults does); throws RangeError on a bad value. */
  setFaults(update: Partial<FaultSettings>): FaultSettings;
  close(): Promise<void>;
}

export type KmsDiscovery = ServiceDiscovery;

export function kmsDiscoveryPath(stateDir: string): string {
  return discoveryPath(stateDir, 'kms');
}

export function kmsStateDir(stateDir: string): string {
  return join(stateDir, 'kms');
}

/**
 * DIR/credentials.json through sim/state.ts (with each entry's `identityPolicies`), plus the optional
 * `sessionToken` of an entry (temporary credentials: the request must then carry it as
 * X-Amz-Security-Token).
 */
export async function loadKmsPrincipals(stateDir: string): Promise<KmsPrincipal[]> {
  const principals = await loadCredentials(stateDir);
  const raw = JSON.parse(await readFile(join(stateDir, 'credentials.json'), 'utf8')) as unknown[];
  const tokens = new Map<string, string>();
  for (const entry of raw) {
    const { accessKeyId, sessionToken } = (entry ?? {}) as Record<string, unknown>;
    if (typeof accessKeyId === 'string' && typeof sessionToken === 'string') tokens.set(accessKeyId, sessionToken);
  }
  return principals.map((p) => {
    const token = tokens.get(p.accessKeyId);
    return token === undefined ? { ...p } : { ...p, sessionToken: token };
  });
}

export function principalMap(principals: readonly KmsPrincipal[]): Map<string, KmsPrincipal> {
  const map = new Map<string, KmsPrincipal>();
  for (const p of principals) {
    if (accountOfPrincipal(p.arn) === null) {
      throw new ServiceError('ERR_SIM_STATE', `principal ${p.arn} is not an arn:aws:iam:: or arn:aws:sts:: ARN with an account`);
    }
    map.set(p.accessKeyId, p);
  }
  return map;
}

/** Each principal's identity policies, parsed once at start; a malformed one stops the start. */
export function identityMap(principals: ReadonlyMap<string, KmsPrincipal>): Map<string, readonly KeyPolicy[]> {
  const map = new Map<string, readonly KeyPolicy[]>();
  for (const [accessKeyId, p] of principals) {
    try {
      map.set(accessKeyId, (p.identityPolicies ?? []).map((doc) => parseIdentityPolicy(doc)));
    } catch (cause) {
      throw new ServiceError('ERR_SIM_STATE', `an identity policy of principal ${p.arn} is malformed`, { cause });
    }
  }
  return map;
}

export async function startKmsSimulator(options: KmsSimulatorOptions): Promise<KmsSimulator> {
  const now = options.now ?? Date.now;
  const region = options.region ?? (await loadSimConfig(options.stateDir)).region;
  const principals = principalMap(options.principals ?? (await loadKmsPrincipals(options.stateDir)));
  const roots = options.attestationRoots ?? [await readFile(simRootPemPath(options.stateDir), 'utf8')];
  const faults = mergeFaultSettings(DEFAULT_FAULTS, options.faults ?? {});
  const kmsDir = kmsStateDir(options.stateDir);
  const store = await KeyStore.open(kmsDir);

  const state: HandlerState = {
    region,
    service: 'kms',
    principals,
    identities: identityMap(principals),
    store,
    recipient: { roots, maxAgeMs: options.attestationMaxAgeMs ?? DEFAULT_ATTESTATION_MAX_AGE_MS },
    viaService: options.viaService,
    now,
    random: seededRandom(options.faultSeed ?? Math.floor(Math.random() * 2 ** 32)),
    faults,
    quotas: new QuotaSet(faults, now()),
    policies: new PolicyCache(),
    onInternalError: options.onInternalError ?? ((error) => {
      process.stderr.write(`kms simulator: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    }),
  };

  const served = await serveJsonService(options, {
    label: 'KMS',
    discoveryName: 'kms',
    region,
    tlsDir: kmsDir,
    handle: (req: IncomingMessage, res: ServerResponse) => void handleKmsRequest(req, res, state),
    // Let writes that were in flight finish before the material is wiped.
    afterClose: async () => {
      await store.mutate(async () => undefined);
      store.wipe();
    },
  });

  return {
    ...served,
    region,
    faults: () => ({ ...state.faults, failOperations: [...state.faults.failOperations] }),
    setFaults(update) {
      const next = mergeFaultSettings(state.faults, update);
      state.quotas.apply(next, now());
      state.faults = next;
      return { ...next, failOperations: [...next.failOperations] };
    },
  };
}
