/**
 * Verifies AWS Signature Version 4 on a received request, the way KMS's front end does
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
 * parse the Authorization header, look up the access key, check the credential scope (date,
 * region, service, terminator) and the ±15 minute clock skew, then recompute the signature with
 * @smithy/signature-v4 over exactly the headers the client says it signed and compare in
 * constant time. Error names and messages follow what AWS returns for each failure.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { KmsFault } from './errors.js';

export interface KmsPrincipal {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials carry a session token; the request must then send it (X-Amz-Security-Token). */
  sessionToken?: string;
  /** IAM identity-based policy documents of the principal (none: no IAM permissions). */
  identityPolicies?: readonly unknown[];
}

export interface ReceivedRequest {
  method: string;
  /** Path without the query string, as received. */
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-case names; repeated headers joined with ',' (SigV4 canonical form). */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface SigV4Options {
  principals: ReadonlyMap<string, KmsPrincipal>;
  region: string;
  service: string;
  now: number;
}

/** AWS allows 15 minutes between the request's X-Amz-Date and the server clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTH = /^AWS4-HMAC-SHA256 (.+)$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** node:crypto in the ChecksumConstructor shape the signer expects (HMAC when given a secret). */
export class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: Uint8Array | undefined;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : toBytes(secret);
    this.hash = this.fresh();
  }

  private fresh(): ReturnType<typeof createHash> | ReturnType<typeof createHmac> {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function incomplete(message: string): KmsFault {
  return new KmsFault('IncompleteSignatureException', message);
}

function parseAuthorization(value: string): { accessKeyId: string; scope: string[]; signedHeaders: string[]; signature: string } {
  const m = AUTH.exec(value.trim());
  if (m === null) throw incomplete(`Unsupported AWS 'algorithm' or malformed Authorization header`);
  const params = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = params.get('Credential');
  const signedHeaders = params.get('SignedHeaders');
  const signature = params.get('Signature');
  if (credential === undefined) throw incomplete("Authorization header requires 'Credential' parameter.");
  if (signedHeaders === undefined) throw incomplete("Authorization header requires 'SignedHeaders' parameter.");
  if (signature === undefined) throw incomplete("Authorization header requires 'Signature' parameter.");
  const [accessKeyId, ...scope] = credential.split('/');
  if (accessKeyId === undefined || accessKeyId === '' || scope.length !== 4) {
    throw incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  }
  return { accessKeyId, scope, signedHeaders: signedHeaders.split(';'), signature };
}

function parseAmzDate(value: string): Date | null {
  const m = AMZ_DATE.exec(value);
  if (m === null) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isFinite(ms) ? new Date(ms) : null;
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const signers = new WeakMap<KmsPrincipal, SignatureV4>();

function signerFor(principal: KmsPrincipal, region: string, service: string): SignatureV4 {
  let signer = signers.get(principal);
  if (signer === undefined) {
    const credentials = principal.sessionToken === undefined
      ? { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey }
      : { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey, sessionToken: principal.sessionToken };
    signer = new SignatureV4({ credentials, region, service, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
    signers.set(principal, signer);
  }
  return signer;
}

/** Returns the authenticated principal, or throws the KmsFault AWS would send. */
export async function verifySigV4(request: ReceivedRequest, options: SigV4Options): Promise<KmsPrincipal> {
  const authorization = request.headers['authorization'];
  if (authorization === undefined || authorization === '') {
    throw new KmsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(authorization);

  const principal = options.principals.get(auth.accessKeyId);
  if (principal === undefined) {
    throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const token = request.headers['x-amz-security-token'];
  if ((principal.sessionToken ?? undefined) !== token) {
    throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  const amzDate = request.headers['x-amz-date'];
  if (amzDate === undefined) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signingDate = parseAmzDate(amzDate);
  if (signingDate === null) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  const [scopeDate, scopeRegion, scopeService, terminator] = auth.scope as [string, string, string, string];
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw new KmsFault('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from 'x-amz-date'.`);
  }
  if (scopeService !== options.service) {
    throw new KmsFault('InvalidSignatureException', `Credential should be scoped to correct service: '${options.service}'.`);
  }
  if (scopeRegion !== options.region) {
    throw new KmsFault('InvalidSignatureException', `Credential should be scoped to a valid region. This endpoint serves '${options.region}', not '${scopeRegion}'.`);
  }
  if (terminator !== 'aws4_request') {
    throw new KmsFault('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  const skew = signingDate.getTime() - options.now;
  if (skew < -MAX_SKEW_MS) {
    throw new KmsFault('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(options.now - MAX_SKEW_MS)} (${formatAmzDate(options.now)} - 15 min.)`);
  }
  if (skew > MAX_SKEW_MS) {
    throw new KmsFault('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(options.now + MAX_SKEW_MS)} (${formatAmzDate(options.now)} + 15 min.)`);
  }

  if (!auth.signedHeaders.includes('host')) {
    throw new KmsFault('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined || name !== name.toLowerCase()) throw new KmsFault('InvalidSignatureException', MISMATCH);
    headers[name] = value;
  }
  // The signer trusts a client-supplied payload hash; check it against the bytes received.
  const declaredHash = request.headers['x-amz-content-sha256'];
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(request.body).digest('hex')) {
    throw new KmsFault('InvalidSignatureException', MISMATCH);
  }

  const signed = await signerFor(principal, options.region, options.service).sign(
    { method: request.method, protocol: 'https:', hostname: headers['host'] ?? '', path: request.path, query: request.query, headers, body: request.body },
    { signingDate, signingRegion: scopeRegion, signingService: scopeService, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers['authorization']))?.[1];
  const expectedHeaders = /SignedHeaders=([^,]+),/.exec(String(signed.headers['authorization']))?.[1];
  const given = Buffer.from(auth.signature, 'utf8');
  if (
    expected === undefined ||
    expectedHeaders !== auth.signedHeaders.join(';') ||
    given.length !== expected.length ||
    !timingSafeEqual(given, Buffer.from(expected, 'utf8'))
  ) {
    throw new KmsFault('InvalidSignatureException', MISMATCH);
  }
  return principal;
}
