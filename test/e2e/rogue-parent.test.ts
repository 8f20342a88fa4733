/**
 * A scripted rogue parent against a real enclave process (docs/threat-model.md). It speaks the
 * enclave link protocol itself (a second connection to the enclave's socket, or the only one once
 * the real parent is killed), controls the KMS tunnel, the credentials, the wrapped keys and the
 * restarts, and tries the attacks that the other end-to-end files do not already play:
 *
 * - oversized, malformed, wrong-version and unknown-operation frames;
 * - reordered and dropped batch items;
 * - restarting the enclave to reset the public-submission limits;
 * - an old attestation document replayed to a client;
 * - a fake KMS endpoint behind the tunnel (TLS interception);
 * - credentials of another account.
 *
 * Each one ends in a typed refusal (or a bounded, documented residual) and the enclave keeps its
 * promise. Loops are bounded; the only sockets are loopback and Unix sockets in the stack's dir.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnValid } from '../../enclave/cards/luhn.js';
import { parseAttestation } from '../../shared/attestation/index.js';
import { decodeHpkeUserData, HPKE_INFO, sealCardForEnclave, sealHpke } from '../../shared/hpke/index.js';
import { encodeFrame, packPlain, RpcPeer, unpackPlain } from '../../shared/protocol/index.js';
import { HandshakeLineReader } from '../../shared/tunnel/handshake.js';
import { connectChannel } from '../../shared/transport/index.js';
import { esdkProducer, type Producer } from './producer.js';
import { startStack, type Stack } from './stack.js';

const PUBLIC = { enabled: true, perCardBurst: 2, perCardPerHour: 0.001, overallBurst: 50, overallPerSecond: 0.001 };
const CARDS = [
  { pan: '4111111111111111', exp: '12/39' },
  { pan: '5555555555554444', exp: '11/38' },
  { pan: '4000056655665556', exp: '10/37' },
];

let stack: Stack;
let producer: Producer;
const peers: RpcPeer[] = [];

beforeAll(async () => {
  stack = await startStack({ cards: { publicSubmission: PUBLIC } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
}, 120_000);

afterAll(async () => {
  for (const peer of peers) peer.close();
  producer?.close();
  await stack?.close();
});

const enclaveSocket = () => path.join(stack.dir, 'run', 'enclave.sock');

/** The rogue's own link connection, answering the enclave's requests as the rogue chooses. */
async function rogueLink(credentials: { accessKeyId: string; secretAccessKey: string }): Promise<RpcPeer> {
  const channel = await connectChannel(`unix://${enclaveSocket()}`);
  const peer = new RpcPeer(channel, { handlers: { credentials: async () => credentials, log: async () => ({}), stats: async () => ({}) } });
  peers.push(peer);
  return peer;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `untyped: ${String(error)}`;
  }
  return 'ok';
}

/** Writes raw bytes to a fresh connection; resolves with what came back within a bounded wait. */
function rawExchange(bytes: Buffer): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const socket = net.connect(enclaveSocket());
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, 1_500);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(bytes));
  });
}

async function tokenizeViaApi(card: { pan: string; exp: string }): Promise<{ status: number; json: any }> {
  return stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard(card) } }) });
}

/** The enclave's replies in a raw exchange (its own requests, such as `log`, are left out). */
function repliesIn(bytes: Buffer): { ok: boolean; error?: { code: string } }[] {
  const replies: { ok: boolean; error?: { code: string } }[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const frame = unpackPlain(bytes.subarray(at + 4, at + 4 + length)) as { ok?: boolean; error?: { code: string } };
    if (typeof frame.ok === 'boolean') replies.push(frame as { ok: boolean; error?: { code: string } });
    at += 4 + length;
  }
  return replies;
}

describe('frames a rogue parent can send', () => {
  it('an oversized frame header or a frame that is not msgpack gets no answer, the stream stays in step; the enclave keeps serving', async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0x7fff_ffff);
    // The oversized payload is skipped as it arrives, never buffered (shared/protocol/frame-decoder.ts).
    expect(repliesIn((await rawExchange(header)).received).filter((r) => r.ok)).toEqual([]);
    // After a frame that is not msgpack the stream stays in step: the next frame on the same
    // connection is read and answered (here: refused for its protocol version).
    const { received } = await rawExchange(
      Buffer.concat([encodeFrame(Buffer.from([0xc1, 0xc1, 0xc1])), encodeFrame(packPlain({ v: 2, id: 7, op: 'cards.tokenize', body: {} }))]),
    );
    expect(repliesIn(received)).toMatchObject([{ ok: false, error: { code: 'ERR_PROTOCOL_VERSION' } }]);
    expect((await tokenizeViaApi(CARDS[0]!)).status).toBe(200);
  });

  it('a frame of another protocol version is refused with ERR_PROTOCOL_VERSION; the enclave keeps serving', async () => {
    const { received } = await rawExchange(encodeFrame(packPlain({ v: 2, id: 1, op: 'cards.tokenize', body: {} })));
    expect(repliesIn(received)).toMatchObject([{ ok: false, error: { code: 'ERR_PROTOCOL_VERSION' } }]);
    expect((await tokenizeViaApi(CARDS[1]!)).status).toBe(200);
  });

  it('an unknown operation, or a known one with a malformed body, is a typed error', async () => {
    const rogue = await rogueLink(stack.principal('enclave'));
    expect(await codeOf(rogue.request('cards.export-keys', {}))).toMatch(/^ERR_(UNKNOWN_OPERATION|BAD_REQUEST)$/);
    expect(await codeOf(rogue.request('cards.tokenize', { card: { esdk: 'not bytes' } }))).toBe('ERR_BAD_REQUEST');
    expect(await codeOf(rogue.request('cards.tokenize', { card: { esdk: new Uint8Array(10) }, extra: 1 }))).toBe('ERR_BAD_REQUEST');
  });
});

describe('batches a rogue parent reorders or trims', () => {
  it('each result answers its own item, in the order the enclave received them; a dropped item changes no other result', async () => {
    const rogue = await rogueLink(stack.principal('enclave'));
    const sealed = await Promise.all(CARDS.map((card) => producer.sealCard(card)));
    const bytes = sealed.map((b64) => ({ esdk: new Uint8Array(Buffer.from(b64, 'base64')) }));
    const inOrder = (await rogue.request('cards.tokenize-batch', { cards: bytes })) as { results: { token: string; last4: string }[] };
    const reordered = (await rogue.request('cards.tokenize-batch', { cards: [bytes[2]!, bytes[0]!] })) as { results: { token: string; last4: string }[] };
    expect(inOrder.results.map((r) => r.last4)).toEqual(CARDS.map((c) => c.pan.slice(-4)));
    expect(reordered.results.map((r) => r.last4)).toEqual([CARDS[2]!.pan.slice(-4), CARDS[0]!.pan.slice(-4)]);
    expect(reordered.results.map((r) => r.token)).toEqual([inOrder.results[2]!.token, inOrder.results[0]!.token]);
  });
});

describe('restarting the enclave to reset the public-submission limits', () => {
  async function publicTry(pan: string): Promise<number> {
    const res = await stack.api('/v1/attestation');
    const { hpke } = decodeHpkeUserData(parseAttestation(Buffer.from(res.json.document, 'base64')).userData);
    const sealed = await sealHpke(hpke.publicKey, Buffer.from(JSON.stringify({ pan, exp: '12/39' })), { info: HPKE_INFO.card });
    const card = { hpke: { enc: Buffer.from(sealed.enc).toString('base64'), ciphertext: Buffer.from(sealed.ciphertext).toString('base64') } };
    return (await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card }) })).status;
  }

  it('each boot grants at most the documented burst per (BIN, last 4), never more (docs/security.md: restarts are counted in CloudTrail)', async () => {
    // Three Luhn-valid PANs sharing BIN 411111 and last 4 1111: one (BIN, last 4) bucket.
    const pans: string[] = [];
    for (let middle = 0; pans.length < 3 && middle < 1_000; middle++) {
      const pan = `411111${String(middle).padStart(6, '0')}1111`;
      if (luhnValid(pan)) pans.push(pan);
    }
    expect(pans).toHaveLength(3);
    const before = [];
    for (const pan of pans.slice(0, 3)) before.push(await publicTry(pan));
    expect(before).toEqual([200, 200, 429]);
    await stack.stopEnclave();
    await stack.startEnclave();
    await stack.waitReady();
    const after = [];
    for (const pan of pans.slice(0, 3)) after.push(await publicTry(pan));
    // The residual the documentation states: a restart refills the burst, and only the burst.
    expect(after).toEqual([200, 200, 429]);
  }, 120_000);
});

describe('an old attestation document replayed to a client', () => {
  it('a strict client refuses it once it is older than maxAgeMs; sealed to a dead enclave key, nothing opens', async () => {
    const rootPem = readFileSync(path.join(stack.dir, 'sim', 'root.pem'), 'utf8');
    const old = new Uint8Array(Buffer.from((await stack.api('/v1/attestation')).json.document, 'base64'));
    const verify = (at: number) => ({ at, roots: [rootPem], expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! }, maxAgeMs: 60_000 });
    // Ten minutes on (the client's own clock): refused.
    await expect(sealCardForEnclave(CARDS[0]!, { attestationDocument: old, verify: verify(Date.now() + 10 * 60_000) })).rejects.toMatchObject({ code: 'ERR_ATTESTATION_STALE' });
    // Inside the window but after a restart: the card was sealed to a key no running enclave holds.
    const sealed = await sealCardForEnclave(CARDS[0]!, { attestationDocument: old, verify: verify(Date.now()) });
    await stack.stopEnclave();
    await stack.startEnclave();
    await stack.waitReady();
    expect(await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { hpke: sealed } }) })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
  }, 120_000);
});

describe('with the real parent gone: the rogue owns the tunnel and the credentials', () => {
  const proxySocket = () => path.join(stack.dir, 'run', 'proxy.sock');
  let mode: 'intercept' | 'relay' = 'intercept';
  let fakeKmsRequests = 0;
  let fakeKmsHandshakes = 0;
  let tunnels = 0;
  let fakeKms: https.Server;
  let rogueProxy: net.Server;

  beforeAll(async () => {
    stack.parent().kill('SIGKILL');
    await new Promise((r) => stack.parent().once('exit', r).exitCode !== null && r(undefined));
    // A KMS look-alike with a certificate from the rogue's own CA (openssl, as test/tunnel does).
    const key = path.join(stack.dir, 'rogue.key');
    const cert = path.join(stack.dir, 'rogue.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    fakeKms = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
      fakeKmsRequests++;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
    });
    fakeKms.on('connection', () => fakeKmsHandshakes++);
    await new Promise<void>((r) => fakeKms.listen(0, '127.0.0.1', r));
    const fakePort = (fakeKms.address() as net.AddressInfo).port;
    const simUrl = new URL(stack.sim.endpoint);
    rmSync(proxySocket(), { force: true });
    rogueProxy = net.createServer((enclaveSide) => {
      const reader = new HandshakeLineReader();
      enclaveSide.on('error', () => {});
      const onData = (chunk: Buffer): void => {
        const line = reader.push(chunk);
        if (line === undefined) return;
        enclaveSide.off('data', onData);
        tunnels++;
        const upstream = net.connect(mode === 'intercept' ? { host: '127.0.0.1', port: fakePort } : { host: '127.0.0.1', port: Number(simUrl.port) });
        upstream.on('error', () => enclaveSide.destroy());
        upstream.on('connect', () => {
          enclaveSide.write('EKT1 OK\n');
          if (line.rest.length > 0) upstream.write(line.rest);
          enclaveSide.pipe(upstream).pipe(enclaveSide);
        });
      };
      enclaveSide.on('data', onData);
    });
    await new Promise<void>((r) => rogueProxy.listen(proxySocket(), r));
  }, 60_000);

  afterAll(async () => {
    rogueProxy?.close();
    fakeKms?.close();
  });

  it('a fake KMS endpoint behind the tunnel: TLS fails inside the enclave, no request reaches it, nothing is decrypted', async () => {
    mode = 'intercept';
    const rogue = await rogueLink(stack.principal('enclave'));
    // A fresh data key, so the enclave must call KMS.
    const message = new Uint8Array(Buffer.from(await producer.sealCard(CARDS[0]!), 'base64'));
    expect(await codeOf(rogue.request('cards.tokenize', { card: { esdk: message } }, { deadlineMs: 60_000 }))).toMatch(/^ERR_KMS_/);
    // The enclave did come through the rogue's tunnel to the fake endpoint, and stopped at TLS.
    expect(tunnels).toBeGreaterThan(0);
    expect(fakeKmsHandshakes).toBeGreaterThan(0);
    expect(fakeKmsRequests).toBe(0);
  }, 90_000);

  it('credentials of another account: KMS refuses, keys are not loaded, the enclave does not serve', async () => {
    mode = 'relay';
    tunnels = 0;
    await stack.stopEnclave();
    await stack.startEnclave();
    // The rogue is now the only (and first) parent: its credentials are the ones the enclave caches.
    const rogue = await rogueLink({ accessKeyId: 'AKIAOTHERACCOUNT0001', secretAccessKey: 'x'.repeat(40) });
    const parentConfig = JSON.parse(readFileSync(path.join(stack.dir, 'run', 'parent.json'), 'utf8')) as { wrappedKeys: Record<string, { ciphertextBlob: string; keyId: string; encryptionContext: Record<string, string> }> };
    const keys = Object.fromEntries(
      Object.entries(parentConfig.wrappedKeys).map(([name, k]) => [name, { ...k, ciphertextBlob: new Uint8Array(Buffer.from(k.ciphertextBlob, 'base64')) }]),
    );
    expect(await codeOf(rogue.request('keys.load', { keys }, { deadlineMs: 60_000 }))).toMatch(/^ERR_KMS_/);
    expect(tunnels).toBeGreaterThan(0); // it reached the real KMS (simulator), which refused the signature
    const message = new Uint8Array(Buffer.from(await producer.sealCard(CARDS[1]!), 'base64'));
    expect(await codeOf(rogue.request('cards.tokenize', { card: { esdk: message } }, { deadlineMs: 60_000 }))).toMatch(/^ERR_(NOT_READY|KMS_\w+)$/);
  }, 90_000);
});
