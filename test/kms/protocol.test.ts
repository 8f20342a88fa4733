/**
 * The wire protocol as KMS speaks it: SigV4 (unknown key, bad signature, scope, clock skew,
 * session tokens), AWS JSON 1.1 framing errors, body limits, and the plain-HTTP mode.
 */
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { startKmsSimulator } from '../../sim/kms/index.js';
import { NodeSha256 } from '../../sim/kms/sigv4.js';
import { kmsClient, kmsError, startHarness, type Harness } from './harness.js';

let h: Harness;
let admin: KMSClient;

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
});

afterAll(async () => {
  await h.close();
});

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }

/** A hand-made KMS request, signed (or not) with @smithy/signature-v4 as the SDK would. */
async function raw(options: {
  target?: string;
  body: string | Buffer;
  contentType?: string;
  sign?: { accessKeyId: string; secretAccessKey: string; region?: string; date?: Date; service?: string } | false;
  mutate?: (headers: Record<string, string>) => void;
  endpoint?: string;
  path?: string;
  /** Sent instead of `body`, after signing `body` (same length). */
  sendBody?: Buffer;
}): Promise<RawResponse> {
  const url = new URL(options.endpoint ?? h.sim.endpoint);
  const body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  let headers: Record<string, string> = {
    host: url.host,
    'content-type': options.contentType ?? 'application/x-amz-json-1.1',
    'content-length': String(body.length),
  };
  if (options.target !== undefined) headers['x-amz-target'] = options.target;
  if (options.sign !== false && options.sign !== undefined) {
    const s = options.sign;
    const signer = new SignatureV4({ credentials: s, region: s.region ?? h.sim.region, service: s.service ?? 'kms', sha256: NodeSha256 });
    const signed = await signer.sign(
      { method: 'POST', protocol: url.protocol, hostname: url.hostname, path: options.path ?? '/', query: {}, headers, body },
      s.date === undefined ? {} : { signingDate: s.date },
    );
    headers = signed.headers as Record<string, string>;
  }
  options.mutate?.(headers);
  const send = url.protocol === 'https:' ? request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({ host: url.hostname, port: url.port, method: 'POST', path: options.path ?? '/', headers, ca: h.sim.caPem ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.on('error', reject);
    req.end(options.sendBody ?? body);
  });
}

function adminCreds(): { accessKeyId: string; secretAccessKey: string } {
  const p = h.principal('admin');
  return { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey };
}

describe('SigV4', () => {
  it('accepts a correctly signed raw request (the harness signer matches the server)', async () => {
    const res = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8}', sign: adminCreds() });
    expect(res.status).toBe(200);
    expect(Buffer.from(res.body['Plaintext'] as string, 'base64').length).toBe(8);
  });

  it('answers an unknown access key with UnrecognizedClientException', async () => {
    const c = kmsClient(h.sim, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) });
    const err = await kmsError(c.send(new ListKeysCommand({})));
    expect(err.name).toBe('UnrecognizedClientException');
    expect(err.status).toBe(400);
    c.destroy();
  });

  it('answers a wrong secret with InvalidSignatureException', async () => {
    const c = kmsClient(h.sim, { accessKeyId: h.principal('admin').accessKeyId, secretAccessKey: 'y'.repeat(40) });
    const err = await kmsError(c.send(new ListKeysCommand({})));
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.status).toBe(400);
    expect(err.message).toContain('The request signature we calculated does not match');
    c.destroy();
  });

  it('rejects a body changed after signing, and a signature made for another region or service', async () => {
    const tampered = await raw({
      target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8}', sign: adminCreds(),
      mutate: (headers) => { headers['x-amz-target'] = 'TrentService.ListKeys'; },
    });
    expect(tampered.status).toBe(400);
    expect(tampered.body['__type']).toBe('InvalidSignatureException');
    expect(tampered.headers['x-amzn-errortype']).toBe('InvalidSignatureException');

    const body = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8}', sendBody: Buffer.from('{"NumberOfBytes":9}'), sign: adminCreds() });
    expect(body.body['__type']).toBe('InvalidSignatureException');

    const region = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: { ...adminCreds(), region: 'eu-west-1' } });
    expect(region.body['__type']).toBe('InvalidSignatureException');
    expect(String(region.body['message'])).toContain('Credential should be scoped to a valid region');

    const service = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: { ...adminCreds(), service: 's3' } });
    expect(service.body['__type']).toBe('InvalidSignatureException');
    expect(String(service.body['message'])).toContain("scoped to correct service: 'kms'");

    const sdkRegion = h.client('admin', { region: 'eu-west-1' });
    expect((await kmsError(sdkRegion.send(new ListKeysCommand({})))).name).toBe('InvalidSignatureException');
  });

  it('rejects signatures dated more than 15 minutes from the server clock, accepts 14', async () => {
    const old = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: { ...adminCreds(), date: new Date(Date.now() - 16 * 60_000) } });
    expect(old.body['__type']).toBe('InvalidSignatureException');
    expect(String(old.body['message'])).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    const future = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: { ...adminCreds(), date: new Date(Date.now() + 16 * 60_000) } });
    expect(String(future.body['message'])).toMatch(/^Signature not yet current/);
    const fine = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: { ...adminCreds(), date: new Date(Date.now() - 14 * 60_000) } });
    expect(fine.status).toBe(200);
  });

  it('answers an unsigned request with MissingAuthenticationTokenException', async () => {
    const res = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: false });
    expect(res.status).toBe(400);
    expect(res.body['__type']).toBe('MissingAuthenticationTokenException');
  });
});

describe('temporary credentials (session token)', () => {
  it('require the matching X-Amz-Security-Token', async () => {
    const temp = { arn: 'arn:aws:sts::111122223333:assumed-role/enclave/i-0123456789abcdef0', accessKeyId: 'ASIATEMPORARY0000001', secretAccessKey: 's'.repeat(40), sessionToken: 'token-abc',
      identityPolicies: [{ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'kms:*', Resource: '*' } }] };
    const sim = await startKmsSimulator({ stateDir: h.dir, principals: [temp], writeDiscoveryFile: false, silent: true });
    try {
      const good = kmsClient(sim, { accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey, sessionToken: 'token-abc' });
      expect((await good.send(new GenerateRandomCommand({ NumberOfBytes: 4 }))).Plaintext!.length).toBe(4);
      const created = await good.send(new CreateKeyCommand({}));
      expect(created.KeyMetadata!.AWSAccountId).toBe('111122223333');
      const wrong = kmsClient(sim, { accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey, sessionToken: 'token-xyz' });
      expect((await kmsError(wrong.send(new ListKeysCommand({})))).name).toBe('UnrecognizedClientException');
      const none = kmsClient(sim, { accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey });
      expect((await kmsError(none.send(new ListKeysCommand({})))).name).toBe('UnrecognizedClientException');
      for (const c of [good, wrong, none]) c.destroy();
    } finally {
      await sim.close();
    }
  });
});

describe('AWS JSON 1.1 framing', () => {
  it('answers malformed JSON and wrongly typed members with SerializationException', async () => {
    const bad = await raw({ target: 'TrentService.ListKeys', body: '{"Limit":', sign: adminCreds() });
    expect(bad.status).toBe(400);
    expect(bad.body['__type']).toBe('SerializationException');
    const typed = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":"8"}', sign: adminCreds() });
    expect(typed.body['__type']).toBe('SerializationException');
    const blob = await raw({ target: 'TrentService.Decrypt', body: '{"CiphertextBlob":"not base64!"}', sign: adminCreds() });
    expect(blob.body['__type']).toBe('SerializationException');
  });

  it('answers missing required members with the Coral ValidationException text', async () => {
    const res = await raw({ target: 'TrentService.Encrypt', body: '{"Plaintext":"AA=="}', sign: adminCreds() });
    expect(res.body).toEqual({ __type: 'ValidationException', message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null" });
  });

  it('words validation errors as AWS does: the offending value, nested member paths, service-level texts', async () => {
    const zero = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":0}', sign: adminCreds() });
    expect(zero.body).toEqual({ __type: 'ValidationException', message: "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1" });
    const missing = await raw({ target: 'TrentService.GenerateRandom', body: '{}', sign: adminCreds() });
    expect(missing.body).toEqual({ __type: 'ValidationException', message: 'NumberOfBytes is required.' });
    const recipient = await raw({ target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8,"Recipient":{"KeyEncryptionAlgorithm":"RSA","AttestationDocument":"AA=="}}', sign: adminCreds() });
    expect(String(recipient.body['message'])).toMatch(/^1 validation error detected: Value 'RSA' at 'recipient\.keyEncryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set/);
    // Blobs are never quoted.
    const big = await raw({ target: 'TrentService.Encrypt', body: JSON.stringify({ KeyId: 'alias/x', Plaintext: Buffer.alloc(4097).toString('base64') }), sign: adminCreds() });
    expect(big.body['message']).toBe("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
  });

  it('sends InvalidCiphertextException without a message, and an ARN of another Region as "Invalid arn"', async () => {
    const bad = await raw({ target: 'TrentService.Decrypt', body: JSON.stringify({ CiphertextBlob: Buffer.from('not a blob').toString('base64') }), sign: adminCreds() });
    expect(bad.body).toEqual({ __type: 'InvalidCiphertextException' });
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-4000-8000-000000000000';
    const other = await raw({ target: 'TrentService.DescribeKey', body: JSON.stringify({ KeyId: arn }), sign: adminCreds() });
    expect(other.body).toEqual({ __type: 'NotFoundException', message: 'Invalid arn' });
    const mrk = `mrk-${'0'.repeat(32)}`;
    const missingMrk = await raw({ target: 'TrentService.DescribeKey', body: JSON.stringify({ KeyId: mrk }), sign: adminCreds() });
    expect(missingMrk.body).toEqual({ __type: 'NotFoundException', message: `Key 'arn:aws:kms:${h.sim.region}:111122223333:key/${mrk}' does not exist` });
  });

  it('answers a malformed Authorization header with IncompleteSignatureException', async () => {
    const res = await raw({ target: 'TrentService.ListKeys', body: '{}', sign: adminCreds(), mutate: (headers) => { headers['authorization'] = 'AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00'; } });
    expect(res.status).toBe(400);
    expect(res.body['__type']).toBe('IncompleteSignatureException');
  });

  it('answers unknown operations and a wrong content type with UnknownOperationException', async () => {
    expect((await raw({ target: 'TrentService.Frobnicate', body: '{}', sign: adminCreds() })).body['__type']).toBe('UnknownOperationException');
    expect((await raw({ target: 'TrentService.ListKeys', body: '{}', contentType: 'application/json', sign: adminCreds() })).body['__type']).toBe('UnknownOperationException');
    expect((await raw({ body: '{}', sign: adminCreds() })).body['__type']).toBe('UnknownOperationException');
  });

  it('refuses bodies over 1 MiB before reading them', async () => {
    const res = await raw({ target: 'TrentService.Encrypt', body: Buffer.alloc(1024 * 1024 + 1, 0x20), sign: adminCreds() });
    expect(res.status).toBe(413);
    expect(res.body['__type']).toBe('RequestEntityTooLargeException');
  });
});

describe('plain HTTP (--http)', () => {
  it('serves the same protocol without TLS when asked', async () => {
    const sim = await startKmsSimulator({ stateDir: h.dir, http: true, writeDiscoveryFile: false, silent: true });
    try {
      expect(sim.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.caFile).toBeNull();
      const p = h.principal('admin');
      const c = kmsClient(sim, { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey });
      const key = await c.send(new CreateKeyCommand({}));
      const enc = await c.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('plain') }));
      expect(enc.CiphertextBlob!.length).toBeGreaterThan(0);
      c.destroy();
    } finally {
      await sim.close();
    }
  });
});
