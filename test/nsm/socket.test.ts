import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NsmClient } from '../../enclave/nsm/client.js';
import { connectNsmSocket } from '../../enclave/nsm/socket.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { decodeNsmResponse, encodeNsmRequest, NsmError } from '../../shared/nsm/codec.js';
import { encodeNsmFrame, NsmFrameReader } from '../../shared/nsm/framing.js';
import type { NsmTransport } from '../../shared/nsm/types.js';
import { serveNsm, type NsmServer } from '../../sim/nsm/server.js';
import { FakeNsm } from './fake-nsm.js';

const dir = mkdtempSync(join(tmpdir(), 'ek-nsm-sock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const nextPath = (): string => join(dir, `nsm-${(counter += 1)}.sock`);

async function expectCode(promise: Promise<unknown>, code: string, messagePart?: string): Promise<EnclaveKitError> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnclaveKitError);
  expect((error as EnclaveKitError).code).toBe(code);
  if (messagePart !== undefined) expect((error as Error).message).toContain(messagePart);
  return error as EnclaveKitError;
}

/** A raw client: sends frames, collects decoded response frames, notices the close. */
function rawClient(path: string): Promise<{ socket: Socket; frames: Buffer[]; closed: Promise<void>; next(): Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const reader = new NsmFrameReader(1 << 20);
    const frames: Buffer[] = [];
    const waiters: ((b: Buffer) => void)[] = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const waiter = waiters.shift();
        if (waiter !== undefined) waiter(frame);
        else frames.push(frame);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        frames,
        closed,
        next: () => {
          const ready = frames.shift();
          return ready !== undefined ? Promise.resolve(ready) : new Promise((r) => waiters.push(r));
        },
      }),
    );
  });
}

describe('NsmClient over connectNsmSocket ⇄ serveNsm', () => {
  let fake: FakeNsm;
  let server: NsmServer;
  let path: string;
  let transport: NsmTransport;
  let client: NsmClient;

  beforeEach(async () => {
    fake = new FakeNsm();
    path = nextPath();
    server = await serveNsm(fake, path);
    transport = connectNsmSocket(path);
    client = new NsmClient(transport);
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('performs every operation with NSM semantics', async () => {
    const data = new Uint8Array([1, 2, 3]);
    const expected = createHash('sha384').update(new Uint8Array(48)).update(data).digest();
    expect(Buffer.from(await client.extendPcr(16, data))).toEqual(expected);
    expect(await client.describePcr(16)).toEqual({ lock: false, data: new Uint8Array(expected) });
    await client.lockPcr(16);
    expect((await client.describePcr(16)).lock).toBe(true);
    await client.lockPcrs(4);
    const description = await client.describeNsm();
    expect(description).toEqual({
      versionMajor: 1, versionMinor: 0, versionPatch: 0, moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
      maxPcrs: 32, lockedPcrs: [0, 1, 2, 3, 16], digest: 'SHA384',
    });
    const doc = await client.attest({ userData: new Uint8Array([9, 9]), publicKey: new Uint8Array(1024).fill(7) });
    expect(Buffer.from(doc).toString()).toBe(`doc:0909:none:${'07'.repeat(1024)}`);
    expect((await client.getRandom()).length).toBe(256);
  });

  it('turns NSM Error responses into NsmError (ERR_NSM) naming the NSM code', async () => {
    await client.lockPcr(17);
    const error = await expectCode(client.extendPcr(17, new Uint8Array([1])), 'ERR_NSM', 'ReadOnlyIndex');
    expect((error as NsmError).nsmCode).toBe('ReadOnlyIndex');
    await expectCode(client.describePcr(40), 'ERR_NSM', 'InvalidIndex');
    fake.failWith = new Error('disk on fire');
    const internal = await expectCode(client.getRandom(), 'ERR_NSM', 'InternalError');
    expect(internal.message).not.toContain('disk on fire');
  });

  it('refuses oversized input before sending it', async () => {
    const before = fake.calls;
    await expectCode(client.attest({ nonce: new Uint8Array(1025) }), 'ERR_NSM', 'InputTooLarge');
    // 3000 + 1025 + 1024 > 4096 would not fit one ioctl request either.
    await expectCode(client.extendPcr(16, new Uint8Array(4096)), 'ERR_NSM', 'InputTooLarge');
    expect(fake.calls).toBe(before);
    // The largest attestation request the NSM accepts (nsm-check.rs DATA_LEN = 1024 each) still fits.
    const big = new Uint8Array(1024).fill(1);
    expect((await client.attest({ userData: big, nonce: big, publicKey: big })).length).toBeGreaterThan(6000);
  });

  it('answers many concurrent calls in order on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client.extendPcr(16 + (i % 16), new Uint8Array([i]))));
    expect(results).toHaveLength(100);
    // Replaying the same extends locally gives the same final values.
    const local = Array.from({ length: 16 }, () => Buffer.alloc(48));
    for (let i = 0; i < 100; i += 1) local[i % 16] = createHash('sha384').update(local[i % 16]!).update(new Uint8Array([i])).digest();
    for (let p = 0; p < 16; p += 1) expect(Buffer.from(fake.pcrs[16 + p]!)).toEqual(local[p]);
    expect(Buffer.from(results[99]!)).toEqual(local[99 % 16]);
  });

  it('creates the socket with mode 0600', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('survives garbage: bad CBOR is answered InvalidArgument and the connection stays usable', async () => {
    const raw = await rawClient(path);
    raw.socket.write(encodeNsmFrame(new Uint8Array([0xff, 0x00, 0x13])));
    expect(decodeNsmResponse(await raw.next())).toEqual({ kind: 'Error', code: 'InvalidArgument' });
    raw.socket.write(encodeNsmFrame(new Uint8Array(0)));
    expect(decodeNsmResponse(await raw.next())).toEqual({ kind: 'Error', code: 'InvalidArgument' });
    // A frame split over several writes still works.
    const frame = encodeNsmFrame(encodeNsmRequest({ kind: 'DescribePCR', index: 1 }));
    for (const byte of frame) raw.socket.write(Buffer.from([byte]));
    expect(decodeNsmResponse(await raw.next())).toEqual({ kind: 'DescribePCR', lock: false, data: new Uint8Array(48) });
    raw.socket.destroy();
    expect((await client.describePcr(0)).lock).toBe(false);
  });

  it('answers an oversized frame header with InputTooLarge and closes that connection only', async () => {
    const raw = await rawClient(path);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4097);
    raw.socket.write(header);
    expect(decodeNsmResponse(await raw.next())).toEqual({ kind: 'Error', code: 'InputTooLarge' });
    await raw.closed;
    expect(await client.getRandom()).toHaveLength(256);
  });

  it('survives peers that disconnect mid-frame or mid-call', async () => {
    for (let i = 0; i < 20; i += 1) {
      const raw = await rawClient(path);
      const frame = encodeNsmFrame(encodeNsmRequest({ kind: 'GetRandom' }));
      raw.socket.write(i % 2 === 0 ? frame.subarray(0, 3 + (i % 5)) : frame);
      raw.socket.destroy();
    }
    expect((await client.describeNsm()).maxPcrs).toBe(32);
  });

  it('fails pending calls when the server goes away and reconnects when it is back', async () => {
    expect(await client.getRandom()).toHaveLength(256);
    await server.close();
    await expectCode(client.getRandom(), 'ERR_NSM_UNAVAILABLE');
    server = await serveNsm(fake, path);
    expect(await client.getRandom()).toHaveLength(256);
  });
});

describe('serveNsm setup', () => {
  it('replaces a stale socket file but refuses a live server and a non-socket', async () => {
    const path = nextPath();
    const first = await serveNsm(new FakeNsm(), path);
    await expectCode(serveNsm(new FakeNsm(), path), 'ERR_TRANSPORT', 'another process');
    await first.close();
    // A socket file left behind by a process that died without closing it.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(path).isSocket()).toBe(true);
    const second = await serveNsm(new FakeNsm(), path);
    expect(await new NsmClient(connectNsmSocket(path)).getRandom()).toHaveLength(256);
    await second.close();
    const file = nextPath();
    writeFileSync(file, 'not a socket');
    await expectCode(serveNsm(new FakeNsm(), file), 'ERR_TRANSPORT', 'not a socket');
  });
});

describe('connectNsmSocket failure modes', () => {
  it('reports a missing simulator as ERR_NSM_UNAVAILABLE', async () => {
    await expectCode(new NsmClient(connectNsmSocket(join(dir, 'absent.sock'))).getRandom(), 'ERR_NSM_UNAVAILABLE');
  });

  it('times out a silent peer and rejects an oversized response', async () => {
    const path = nextPath();
    const peers: Socket[] = [];
    const silent = createServer((s) => {
      peers.push(s);
      s.on('data', () => {
        if (peers.length > 1) {
          // Second connection: claim a 1 MiB response.
          const header = Buffer.alloc(4);
          header.writeUInt32BE(1 << 20);
          s.write(header);
        }
      });
    });
    await new Promise<void>((r) => silent.listen(path, r));
    const client = new NsmClient(connectNsmSocket(path, { timeoutMs: 200 }));
    await expectCode(client.getRandom(), 'ERR_NSM_UNAVAILABLE', 'did not answer');
    await expectCode(client.getRandom(), 'ERR_NSM_MALFORMED', 'exceeds');
    await client.close();
    for (const p of peers) p.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});

describe('NsmClient response checks', () => {
  const fixed = (hex: string): NsmTransport => ({ call: async () => new Uint8Array(Buffer.from(hex, 'hex')) });

  it('rejects a response of the wrong kind and undecodable responses', async () => {
    // A LockPCR answer to GetRandom.
    await expectCode(new NsmClient(fixed('674c6f636b504352')).getRandom(), 'ERR_NSM_MALFORMED', 'LockPCR answers GetRandom');
    await expectCode(new NsmClient(fixed('ff')).getRandom(), 'ERR_NSM_MALFORMED');
  });

  it('wraps a non-typed transport failure as ERR_NSM_UNAVAILABLE', async () => {
    const broken: NsmTransport = {
      call: async () => {
        throw new Error('EIO');
      },
    };
    await expectCode(new NsmClient(broken).describeNsm(), 'ERR_NSM_UNAVAILABLE');
  });
});
