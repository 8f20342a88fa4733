/**
 * One HTTP exchange of the KMS simulator: AWS JSON 1.1 (`POST /`, `X-Amz-Target:
 * TrentService.<Op>`, `Content-Type: application/x-amz-json-1.1`; docs/formats.md 5.1), SigV4, then
 * the injected faults and the quota, then the operation. Every failure is answered as KMS answers
 * it: `{"__type": name, "message": text}` with 400 (500 for server-side errors), which the SDK
 * turns into the matching exception class.
 *
 * `/__sim/faults` (GET to read, POST a partial update) changes latency, injected errors and the
 * quota at runtime. It answers only connections from a loopback address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { KmsFault, THROTTLING_MESSAGE } from './errors.js';
import { accountOfPrincipal } from './arn.js';
import { mergeFaultSettings, type FaultSettings, type QuotaFamily, type QuotaSet } from './faults.js';
import type { KeyStore } from './key-store.js';
import { operationNamed } from './operations/index.js';
import { PolicyCache, resolveKey, specOf, type OpContext } from './operations/context.js';
import { KEY_SPECS } from './key-specs.js';
import { applyScheduledChanges } from './operations/rotation.js';
import type { RecipientVerifierOptions } from './recipient.js';
import type { KeyPolicy } from './policy/index.js';
import { RequestShape } from './shapes.js';
import { verifySigV4, type KmsPrincipal, type ReceivedRequest } from './sigv4.js';

/**
 * Largest request body accepted: a 262,144-byte attestation document is 349,528 base64
 * characters, plus a 6,144-byte blob and members; 1 MiB leaves room and bounds memory.
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
export const FAULTS_PATH = '/__sim/faults';
const TARGET_PREFIX = 'TrentService.';
const JSON_11 = 'application/x-amz-json-1.1';

export interface HandlerState {
  region: string;
  service: 'kms';
  principals: ReadonlyMap<string, KmsPrincipal>;
  /** Parsed identity policies by access key id (same keys as `principals`). */
  identities: ReadonlyMap<string, readonly KeyPolicy[]>;
  store: KeyStore;
  recipient: RecipientVerifierOptions;
  viaService: string | undefined;
  now: () => number;
  random: () => number;
  faults: FaultSettings;
  quotas: QuotaSet;
  policies: PolicyCache;
  /** Unexpected failures (bugs), for local logs. Never given request data. */
  onInternalError: (error: unknown) => void;
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_11,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...extra,
  });
  res.end(text);
}

function sendFault(res: ServerResponse, fault: KmsFault, extra: Record<string, string> = {}): void {
  // x-amzn-errortype carries the name too, as AWS sends it (docs/formats.md 5.1).
  send(res, fault.status, fault.toWire(), { 'x-amzn-errortype': fault.type, ...extra });
}

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(',');
  }
  return headers;
}

export function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    query[key] = all.length === 1 ? all[0]! : all;
  }
  return query;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function handleFaults(req: IncomingMessage, res: ServerResponse, state: HandlerState, body: Buffer): Promise<void> {
  if (!isLoopback(req.socket.remoteAddress)) {
    sendFault(res, new KmsFault('AccessDeniedException', `${FAULTS_PATH} answers loopback clients only`));
    return;
  }
  if (req.method === 'POST') {
    try {
      const update: unknown = JSON.parse(body.toString('utf8'));
      const next = mergeFaultSettings(state.faults, update);
      state.quotas.apply(next, state.now());
      state.faults = next;
    } catch (error) {
      const message = error instanceof RangeError ? error.message : 'the body must be a JSON object of fault settings';
      sendFault(res, new KmsFault('ValidationException', message));
      return;
    }
  } else if (req.method !== 'GET') {
    sendFault(res, new KmsFault('UnknownOperationException', `${FAULTS_PATH} takes GET or POST`));
    return;
  }
  send(res, 200, state.faults);
}

/** Handles one request; never throws (every failure becomes a KMS-shaped answer). */
export async function handleKmsRequest(req: IncomingMessage, res: ServerResponse, state: HandlerState): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, MAX_REQUEST_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      sendFault(res, new KmsFault('RequestEntityTooLargeException', `The request body exceeds ${MAX_REQUEST_BODY_BYTES} bytes.`), { connection: 'close' });
      req.socket.end();
      return;
    }
    res.destroy();
    return;
  }
  try {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    if (url.pathname === FAULTS_PATH) {
      await handleFaults(req, res, state, body);
      return;
    }
    send(res, 200, await dispatch(req, url, body, state));
  } catch (error) {
    if (error instanceof KmsFault) {
      sendFault(res, error);
      return;
    }
    state.onInternalError(error);
    sendFault(res, new KmsFault('KMSInternalException', 'The request failed because of an internal error in the KMS simulator.'));
  }
}

/**
 * The shared quota a cryptographic request draws on: the key type of its KeyId member (RSA, ECC;
 * symmetric and HMAC keys share the symmetric quota). A request without a resolvable KeyId
 * (Decrypt of a symmetric blob, GenerateRandom, an unknown key) counts as symmetric.
 */
function quotaFamily(shape: RequestShape, ctx: OpContext): QuotaFamily {
  try {
    const value = shape.string('KeyId');
    if (value === undefined) return 'symmetric';
    const family = KEY_SPECS[specOf(resolveKey(ctx, value, { allowAlias: true }))].family;
    return family === 'rsa' || family === 'ecc' ? family : 'symmetric';
  } catch {
    return 'symmetric';
  }
}

async function dispatch(req: IncomingMessage, url: URL, body: Buffer, state: HandlerState): Promise<Record<string, unknown>> {
  const target = req.headers['x-amz-target'];
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (req.method !== 'POST' || url.pathname !== '/' || typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    throw new KmsFault('UnknownOperationException', 'The request is not an AWS JSON 1.1 TrentService operation.');
  }
  const name = target.slice(TARGET_PREFIX.length);
  const operation = operationNamed(name);
  if (operation === undefined) throw new KmsFault('UnknownOperationException', `Operation ${name} is not supported by the KMS simulator.`);
  if (contentType !== JSON_11) throw new KmsFault('UnknownOperationException', `Content-Type must be ${JSON_11}.`);

  const received: ReceivedRequest = {
    method: req.method,
    path: url.pathname,
    query: queryOf(url),
    headers: headersOf(req),
    body,
  };
  const principal = await verifySigV4(received, { principals: state.principals, region: state.region, service: state.service, now: state.now() });

  const faults = state.faults;
  if (faults.latencyMs > 0) await sleep(faults.latencyMs);
  if (faults.failRate > 0 && (faults.failOperations.length === 0 || faults.failOperations.includes(name)) && state.random() < faults.failRate) {
    throw new KmsFault(faults.failError, `Injected by the KMS simulator (failRate ${faults.failRate}).`);
  }
  const shape = RequestShape.parse(body);
  const now = state.now();
  await applyScheduledChanges(state.store, now);
  const ctx: OpContext = {
    caller: {
      arn: principal.arn,
      account: accountOfPrincipal(principal.arn) ?? '000000000000',
      identityPolicies: state.identities.get(principal.accessKeyId) ?? [],
    },
    region: state.region,
    store: state.store,
    now,
    recipient: state.recipient,
    viaService: state.viaService,
    policies: state.policies,
  };
  if (operation.cryptographic && !state.quotas.take(quotaFamily(shape, ctx), now)) {
    throw new KmsFault('ThrottlingException', THROTTLING_MESSAGE);
  }
  return operation.run(shape, ctx);
}
