/**
 * One HTTP exchange of a simulated AWS JSON 1.1 service (`POST /`, `X-Amz-Target: <Prefix>.<Op>`,
 * `Content-Type: application/x-amz-json-1.1`), the same protocol steps as the KMS simulator
 * (sim/kms/http-handler.ts): bounded body, SigV4 with the state's principals (sim/kms/sigv4.ts),
 * then the operation (body reading and header/query canonical forms are the KMS handler's). Every failure is answered as AWS answers it: `{"__type", "message"}` with the
 * name also in `x-amzn-errortype`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KmsFault } from '../kms/errors.js';
import { BodyTooLarge, headersOf, queryOf, readBody } from '../kms/http-handler.js';
import type { KeyPolicy } from '../kms/policy/index.js';
import { RequestShape } from '../kms/shapes.js';
import { verifySigV4, type KmsPrincipal } from '../kms/sigv4.js';
import { accountOfPrincipal } from '../kms/arn.js';
import { AwsFault, fromKmsFault } from './fault.js';
import type { ServiceCaller } from './caller.js';

/** Secrets Manager values reach 65,536 bytes (base64 grows a SecretBinary by 4/3); 1 MiB bounds memory. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const JSON_11 = 'application/x-amz-json-1.1';

export type JsonOperation = (shape: RequestShape, caller: ServiceCaller, now: number) => Promise<Record<string, unknown>>;

export interface JsonServiceState {
  /** e.g. "SSM": used in messages. */
  label: string;
  /** X-Amz-Target prefix including the dot, e.g. `AmazonSSM.`. */
  targetPrefix: string;
  /** SigV4 signing name, e.g. `ssm`. */
  signingName: string;
  region: string;
  principals: ReadonlyMap<string, KmsPrincipal>;
  identities: ReadonlyMap<string, readonly KeyPolicy[]>;
  operations: Readonly<Record<string, JsonOperation>>;
  now: () => number;
  onInternalError: (error: unknown) => void;
}

/** The Date header carries the simulator's clock: the SDK corrects its own clock skew from it. */
function send(res: ServerResponse, status: number, body: unknown, now: number, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_11, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), date: new Date(now).toUTCString(), ...extra });
  res.end(text);
}

function sendFault(res: ServerResponse, fault: AwsFault, now: number, extra: Record<string, string> = {}): void {
  send(res, fault.status, fault.toWire(), now, { 'x-amzn-errortype': fault.type, ...extra });
}

/** Handles one request; never throws (every failure becomes an AWS-shaped answer). */
export async function handleJsonRequest(req: IncomingMessage, res: ServerResponse, state: JsonServiceState): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, MAX_REQUEST_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      sendFault(res, new AwsFault('RequestEntityTooLargeException', `The request body exceeds ${MAX_REQUEST_BODY_BYTES} bytes.`), state.now(), { connection: 'close' });
      req.socket.end();
      return;
    }
    res.destroy();
    return;
  }
  try {
    const result = await dispatch(req, body, state);
    send(res, 200, result, state.now());
  } catch (error) {
    if (error instanceof AwsFault) {
      sendFault(res, error, state.now());
      return;
    }
    if (error instanceof KmsFault) {
      sendFault(res, fromKmsFault(error), state.now());
      return;
    }
    state.onInternalError(error);
    sendFault(res, new AwsFault('InternalServerError', `The request failed because of an internal error in the ${state.label} simulator.`), state.now());
  }
}

async function dispatch(req: IncomingMessage, body: Buffer, state: JsonServiceState): Promise<Record<string, unknown>> {
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  const target = req.headers['x-amz-target'];
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (req.method !== 'POST' || url.pathname !== '/' || typeof target !== 'string' || !target.startsWith(state.targetPrefix)) {
    throw new AwsFault('UnknownOperationException', `The request is not an AWS JSON 1.1 ${state.label} operation.`);
  }
  const name = target.slice(state.targetPrefix.length);
  const operation = Object.hasOwn(state.operations, name) ? state.operations[name] : undefined;
  if (operation === undefined) throw new AwsFault('UnknownOperationException', `Operation ${name} is not supported by the ${state.label} simulator.`);
  if (contentType !== JSON_11) throw new AwsFault('UnknownOperationException', `Content-Type must be ${JSON_11}.`);
  const now = state.now();
  const principal = await verifySigV4(
    { method: req.method, path: url.pathname, query: queryOf(url), headers: headersOf(req), body },
    { principals: state.principals, region: state.region, service: state.signingName, now },
  );
  const caller: ServiceCaller = {
    arn: principal.arn,
    account: accountOfPrincipal(principal.arn) ?? '000000000000',
    identityPolicies: state.identities.get(principal.accessKeyId) ?? [],
  };
  return operation(RequestShape.parse(body), caller, now);
}
