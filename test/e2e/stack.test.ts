/**
 * End to end: real processes (enclave in an empty network namespace when possible, parent),
 * the KMS simulator reached only through the enclave's own TLS over the parent's tunnel, and taps
 * on every socket the parent handles.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAttestation } from '../../shared/attestation/index.js';
import { canIsolate, startStack, type Stack } from './stack.js';
import { containsSecret } from './tap.js';
import { esdkProducer, type Producer } from './producer.js';

let stack: Stack;
let producer: Producer;

beforeAll(async () => {
  stack = await startStack();
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
});

// A PAN whose middle digits (665566) cannot appear in its own token by overlap with the BIN or
// last 4, so finding them on a socket means a leak, not a coincidence.
const CARD = { pan: '4000056655665556', exp: '12/39', cvc: '123' };

/** Strips the tunnel's one handshake line from the start of each direction. */
function afterHandshake(chunks: { dir: 'in' | 'out'; data: Buffer }[], dir: 'in' | 'out'): Buffer {
  const bytes = Buffer.concat(chunks.filter((c) => c.dir === dir).map((c) => c.data));
  return bytes.subarray(bytes.indexOf(0x0a) + 1);
}

describe('end to end on the simulator', () => {
  it('serves a fresh attestation document that verifies with the sim root and the measured PCRs', async () => {
    const nonce = 'a1b2c3d4e5f60718';
    const res = await stack.api(`/v1/attestation?nonce=${nonce}`);
    expect(res.status).toBe(200);
    const root = readFileSync(path.join(stack.dir, 'sim', 'root.pem'), 'utf8');
    const verified = verifyAttestation(Buffer.from(res.json.document, 'base64'), {
      at: Date.now(),
      roots: [root],
      expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! },
      nonce: Buffer.from(nonce, 'hex'),
      maxAgeMs: 60_000,
    });
    // public_key is the enclave's RSA-2048 SPKI (what KMS Recipient needs).
    expect(Buffer.from(verified.publicKey!).subarray(0, 4).toString('hex')).toBe('30820122');
    // ... and the default AWS root refuses the simulator's document.
    expect(() => verifyAttestation(Buffer.from(res.json.document, 'base64'), { at: Date.now(), anyPcrs: true })).toThrowError(
      expect.objectContaining({ code: 'ERR_ATTESTATION_CHAIN' }),
    );
  });

  it('tokenizes an ESDK-sealed card (the data key came through the tunnel)', async () => {
    const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard(CARD) } }) });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ bin: '400005', last4: '5556', brand: 'visa', luhnValid: true, expired: false });
    expect(res.json.token).toMatch(/^400005\d{6}5556$/);
    expect(res.json.token).not.toBe(CARD.pan);
  });

  it('the parent only ever relays TLS for KMS and never sees a data key or card data', async () => {
    const tunnel = stack.taps.tunnel.chunks();
    const upstream = stack.taps.kms.chunks();
    expect(tunnel.length).toBeGreaterThan(0);
    // Enclave → parent: a handshake line, then a TLS ClientHello (record type 22, version 3.x).
    expect(Buffer.concat(tunnel.filter((c) => c.dir === 'in').map((c) => c.data)).toString('latin1')).toMatch(/^EKT1 CONNECT 127\.0\.0\.1:\d+\n\x16\x03/);
    expect(afterHandshake(tunnel, 'out').subarray(0, 2).toString('hex')).toBe('1603');
    // What the parent sends to KMS is the enclave's TLS, byte for byte.
    expect(Buffer.concat(upstream.filter((c) => c.dir === 'in').map((c) => c.data)).subarray(0, 2).toString('hex')).toBe('1603');
    expect(afterHandshake(tunnel, 'in').equals(Buffer.concat(upstream.filter((c) => c.dir === 'in').map((c) => c.data)))).toBe(true);

    const everything = [stack.taps.http.bytes(), stack.taps.link.bytes(), stack.taps.tunnel.bytes(), stack.taps.kms.bytes()];
    const logs = stack.parentLog() + stack.parentOutput();
    expect(logs.length).toBeGreaterThan(0);
    for (const [name, key] of Object.entries(stack.plaintextKeys)) {
      for (const bytes of everything) expect(containsSecret(bytes, key), `${name} key on a parent socket`).toBe(false);
      expect(containsSecret(logs, key), `${name} key in parent logs`).toBe(false);
    }
    for (const secret of [CARD.pan, CARD.pan.slice(6, 12), '"cvc":"123"']) {
      for (const bytes of everything) expect(bytes.includes(Buffer.from(secret)), 'card data on a parent socket').toBe(false);
      expect(logs.includes(secret)).toBe(false);
    }
  });

  it('exports Prometheus metrics and writes enclave events through the redaction guard', async () => {
    const res = await fetch(`${stack.parentUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(value(/^enclavekit_enclave_ready\{[^}]*\} (\d+)/m)).toBe(1);
    expect(value(/^enclavekit_kms_calls_total\{[^}]*operation="Decrypt"[^}]*\} (\d+)/m)).toBeGreaterThanOrEqual(2);
    expect(value(/^enclavekit_tunnel_bytes_total\{direction="up"\} (\d+)/m)).toBeGreaterThan(1000);
    expect(value(/^enclavekit_http_requests_total\{route="\/v1\/cards\/tokenize",status_class="2xx",code="none"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    const events = stack
      .parentLog()
      .split('\n')
      .filter((l) => l.includes('"enclave-event"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.some((e) => e.event === 'keys-loaded' && e.count === 2)).toBe(true);
  });

  it.skipIf(!canIsolate())('the isolated enclave has no network: a direct connection from its namespace fails', async () => {
    const pid = stack.enclave().pid!;
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    const port = new URL(stack.sim.endpoint).port;
    const probe = `require('net').connect(${port},'127.0.0.1').on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
    const out = execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', probe], { encoding: 'utf8', timeout: 10_000 });
    expect(out.trim()).not.toBe('CONNECTED');
    expect(out.trim()).toMatch(/^E[A-Z]+$/);
  });

  it('killing the enclave fails pending requests fast with a typed 503; the parent reconnects', async () => {
    // A slow KMS keeps a request in flight inside the enclave (a fresh ESDK message: cache miss).
    const sealed = await producer.sealCard({ pan: '5555555555554444', exp: '01/38' });
    stack.sim.setFaults({ latencyMs: 20_000 });
    try {
      const pending = stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }) });
      await new Promise((r) => setTimeout(r, 300));
      await stack.stopEnclave('SIGKILL');
      const res = await pending;
      expect(res.status).toBe(503);
      expect(['ERR_CONNECTION_LOST', 'ERR_ENCLAVE_UNAVAILABLE']).toContain(res.json.error.code);
      const down = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }) });
      expect(down).toMatchObject({ status: 503, json: { error: { code: 'ERR_ENCLAVE_UNAVAILABLE' } } });
      expect((await stack.api('/readyz')).status).toBe(503);
    } finally {
      stack.sim.setFaults({ latencyMs: 0 });
    }
    await stack.startEnclave();
    await stack.waitReady();
    const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }) });
    expect(res).toMatchObject({ status: 200, json: { bin: '555555', last4: '4444', brand: 'mastercard' } });
  });

  it('a restarted parent reconnects to the running enclave, which keeps its keys', async () => {
    const before = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard(CARD) } }) });
    await stack.restartParent();
    await stack.waitReady();
    const after = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: await producer.sealCard(CARD) } }) });
    expect(after.json.token).toBe(before.json.token);
  });
});
