import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunnelAgent, openTunnel } from '../../enclave/kms/tunnel.js';
import { TunnelProxy, type TunnelEvent } from '../../parent/tunnel-proxy.js';
import { HandshakeLineReader, parseTarget } from '../../shared/tunnel/handshake.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ek-tunnel-'));
const SECRET = 'SECRET-PAYLOAD-0123456789';
let upstream: https.Server;
let upstreamPort = 0;
let ca: Buffer;
let otherCa: Buffer;

function makeCert(name: string): { key: Buffer; cert: Buffer } {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

/** A proxy listening on a Unix socket; records every byte it relays from either side. */
async function startProxy(allowlist: string[]) {
  const seen: Buffer[] = [];
  const events: TunnelEvent[] = [];
  const proxy = new TunnelProxy({
    allowlist,
    onEvent: (e) => events.push(e),
    connectUpstream: ({ host, port }) => {
      const socket = net.connect({ host, port });
      socket.on('data', (c: Buffer) => seen.push(Buffer.from(c)));
      return socket;
    },
  });
  const socketPath = path.join(dir, `proxy-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer((s) => {
    s.on('data', (c: Buffer) => seen.push(Buffer.from(c)));
    proxy.handle(s);
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  const openStream = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  return { proxy, server, seen, events, openStream, close: () => { proxy.closeAll(); server.close(); } };
}

function get(agent: https.Agent, body: string, caCert: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port: upstreamPort, method: 'POST', path: '/', agent, ca: caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  const server = makeCert('server');
  ca = server.cert;
  otherCa = makeCert('other').cert;
  upstream = https.createServer({ key: server.key, cert: server.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`echo:${Buffer.concat(chunks).toString()}`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
});

afterAll(() => {
  upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tunnel handshake', () => {
  it('parses targets strictly', () => {
    expect(parseTarget('kms.us-east-1.amazonaws.com:443')).toEqual({ host: 'kms.us-east-1.amazonaws.com', port: 443 });
    expect(parseTarget('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['', 'host', 'host:0', 'host:65536', 'ho st:1', ':443', 'a..b:1', 'host:12a']) {
      expect(() => parseTarget(bad), bad).toThrowError(expect.objectContaining({ code: 'ERR_BAD_REQUEST' }));
    }
  });

  it('bounds the handshake line', () => {
    const reader = new HandshakeLineReader();
    expect(() => reader.push(Buffer.alloc(400, 0x41))).toThrowError(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
  });
});

describe('TLS through the parent proxy', () => {
  it('carries HTTPS end to end while the proxy only ever sees ciphertext', async () => {
    const p = await startProxy([`localhost:${upstreamPort}`]);
    const agent = new TunnelAgent({ openStream: p.openStream });
    try {
      for (let i = 0; i < 3; i++) expect(await get(agent, SECRET, ca)).toBe(`echo:${SECRET}`);
      const relayed = Buffer.concat(p.seen);
      expect(relayed.length).toBeGreaterThan(1000);
      expect(relayed.includes(Buffer.from(SECRET))).toBe(false);
      expect(relayed.includes(Buffer.from('echo:'))).toBe(false);
      // keep-alive: three requests, one tunnel
      expect(p.events.filter((e) => e.type === 'open')).toHaveLength(1);
    } finally {
      agent.destroy();
      p.close();
    }
  });

  it('refuses targets off the allowlist', async () => {
    const p = await startProxy(['kms.us-east-1.amazonaws.com:443']);
    try {
      await expect(openTunnel(p.openStream, { host: 'localhost', port: upstreamPort })).rejects.toMatchObject({
        code: 'ERR_KMS_UNAVAILABLE',
        message: expect.stringContaining('ERR_PROXY_DENIED'),
      });
      expect(p.events).toContainEqual({ type: 'denied', target: `localhost:${upstreamPort}`, code: 'ERR_PROXY_DENIED' });
    } finally {
      p.close();
    }
  });

  it('answers a garbage handshake with an error line and closes', async () => {
    const p = await startProxy([`localhost:${upstreamPort}`]);
    try {
      const s = (await p.openStream()) as net.Socket;
      const reply = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('close', () => resolve(Buffer.concat(chunks).toString()));
        s.write('GET / HTTP/1.1\r\n\r\n');
      });
      expect(reply).toBe('EKT1 ERR ERR_FRAME_MALFORMED\n');
    } finally {
      p.close();
    }
  });

  it('reports an unreachable upstream as KMS unavailable', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const p = await startProxy([`127.0.0.1:${deadPort}`]);
    try {
      await expect(openTunnel(p.openStream, { host: '127.0.0.1', port: deadPort })).rejects.toMatchObject({ code: 'ERR_KMS_UNAVAILABLE' });
    } finally {
      p.close();
    }
  });

  it('the enclave checks the server certificate itself: a parent with another CA cannot stand in', async () => {
    const p = await startProxy([`localhost:${upstreamPort}`]);
    const agent = new TunnelAgent({ openStream: p.openStream });
    try {
      await expect(get(agent, SECRET, otherCa)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      agent.destroy();
      p.close();
    }
  });
});
