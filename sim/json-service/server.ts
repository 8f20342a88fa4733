/**
 * startJsonService: serves one simulated AWS JSON 1.1 service (Parameter Store, Secrets Manager)
 * on the shared skeleton (serve.ts: HTTPS with the KMS simulator's CA, its own port, a discovery
 * file DIR/<name>.json), with the state's principals and their identity policies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadSimConfig } from '../state.js';
import { identityMap, kmsStateDir, loadKmsPrincipals, principalMap } from '../kms/server.js';
import type { KmsPrincipal } from '../kms/sigv4.js';
import { handleJsonRequest, type JsonOperation } from './handler.js';
import { serveJsonService, type ServeOptions } from './serve.js';

export { discoveryPath, type ServiceDiscovery } from './serve.js';

export interface JsonServiceOptions extends ServeOptions {
  /** Default: the state's sim.json region. */
  region?: string;
  /** Default: DIR/credentials.json. */
  principals?: readonly KmsPrincipal[];
  /** Server clock, ms since the epoch (SigV4 skew, dates, deletion windows). Default Date.now. */
  now?: () => number;
  onInternalError?: (error: unknown) => void;
}

export interface JsonServiceSpec {
  /** e.g. "SSM Parameter Store". */
  label: string;
  targetPrefix: string;
  signingName: string;
  /** Discovery file name without `.json`, e.g. `ssm`. */
  discoveryName: string;
  operations: Readonly<Record<string, JsonOperation>>;
  /** Runs after the server stopped and in-flight writes finished. */
  onClose?: () => Promise<void>;
}

export interface JsonService {
  endpoint: string;
  region: string;
  port: number;
  caFile: string | null;
  caPem: string | null;
  close(): Promise<void>;
}

export async function startJsonService(options: JsonServiceOptions, spec: JsonServiceSpec): Promise<JsonService> {
  const now = options.now ?? Date.now;
  const region = options.region ?? (await loadSimConfig(options.stateDir)).region;
  const byKey = principalMap(options.principals ?? (await loadKmsPrincipals(options.stateDir)));
  const state = {
    label: spec.label,
    targetPrefix: spec.targetPrefix,
    signingName: spec.signingName,
    region,
    principals: byKey,
    identities: identityMap(byKey),
    operations: spec.operations,
    now,
    onInternalError: options.onInternalError ?? ((error: unknown) => {
      process.stderr.write(`${spec.discoveryName} simulator: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    }),
  };
  const served = await serveJsonService(options, {
    label: spec.label,
    discoveryName: spec.discoveryName,
    region,
    tlsDir: kmsStateDir(options.stateDir),
    handle: (req: IncomingMessage, res: ServerResponse) => void handleJsonRequest(req, res, state),
    afterClose: spec.onClose,
  });
  return { ...served, region };
}
