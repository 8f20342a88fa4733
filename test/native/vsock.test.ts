/**
 * AF_VSOCK through the addon. Binding works on any Linux with the vsock module; a connection needs
 * a peer, which only CID 1 (VMADDR_CID_LOCAL, the vsock_loopback transport) can provide on a CI
 * machine. Tests never connect to any other CID.
 */
import { describe, expect, it } from 'vitest';
import { EnclaveKitError } from '../../shared/errors.js';
import { isSystemError } from '../../shared/native/addon.js';
import { connectVsock, listenVsock, VMADDR_CID_LOCAL, VMADDR_PORT_ANY, type VsockListener } from '../../shared/native/vsock.js';
import { addon, addonMissing, patternBytes, readAll, sha256, writeAllAndEnd } from './helpers.js';

async function expectTransport(promise: Promise<unknown>, part: RegExp): Promise<void> {
  const error = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnclaveKitError);
  expect((error as EnclaveKitError).code).toBe('ERR_TRANSPORT');
  expect((error as Error).message).toMatch(part);
}

/** Why vsock tests cannot run here (undefined when AF_VSOCK sockets can be bound). */
async function bindProblem(): Promise<string | undefined> {
  if (addon === undefined) return 'native addon missing';
  if (addon.VSOCK_SUPPORTED !== 1) return 'AF_VSOCK is Linux-only';
  try {
    const listener = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    await listener.close();
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = isSystemError(cause) ? cause.code : String(error);
    if (code === 'EAFNOSUPPORT' || code === 'ENODEV') return `AF_VSOCK unavailable on this kernel (${code})`;
    throw error;
  }
}

/** Why loopback (CID 1) connections cannot run here (undefined when they work). */
async function loopbackProblem(): Promise<string | undefined> {
  const listener = await listenVsock(VMADDR_PORT_ANY, (s) => s.end('ok'));
  try {
    const stream = await connectVsock(VMADDR_CID_LOCAL, listener.port, { timeoutMs: 1_000 });
    const reply = (await readAll(stream)).toString();
    return reply === 'ok' ? undefined : `unexpected loopback reply ${JSON.stringify(reply)}`;
  } catch (error) {
    return `no vsock loopback peer on CID 1 (${(error as Error).message}); load the vsock_loopback module to run these`;
  } finally {
    await listener.close();
  }
}

const noBind = addonMissing ? 'native addon missing' : await bindProblem();
if (noBind !== undefined) console.warn(`vsock bind tests skipped: ${noBind}`);
const noLoopback = noBind ?? (await loopbackProblem());
if (noLoopback !== undefined) console.warn(`vsock loopback tests skipped: ${noLoopback}`);

describe.skipIf(noBind !== undefined)('AF_VSOCK listeners', () => {
  it('binds a free port with VMADDR_PORT_ANY and reports it', async () => {
    const listener = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    expect(listener.port).not.toBe(VMADDR_PORT_ANY);
    expect(listener.port).toBeGreaterThan(0);
    await listener.close();
  });

  it('refuses a port already bound, with ERR_TRANSPORT naming EADDRINUSE', async () => {
    const first = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    await expectTransport(listenVsock(first.port, (s) => s.destroy()), /EADDRINUSE/);
    await first.close();
    // Closed means released: the same port binds again.
    const again = await listenVsock(first.port, (s) => s.destroy());
    expect(again.port).toBe(first.port);
    await again.close();
  });

  it('rejects out-of-range addresses before touching the kernel', async () => {
    await expectTransport(connectVsock(-1, 5000), /invalid vsock cid/);
    await expectTransport(connectVsock(VMADDR_CID_LOCAL, 2 ** 32), /invalid vsock port/);
    await expectTransport(listenVsock(1.5, () => undefined), /invalid vsock port/);
  });

  it('fails a connect to CID 1 without a listener as ERR_TRANSPORT within its timeout', async () => {
    // With vsock_loopback this is refused at once; without it the connect times out.
    const listener = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    const unused = listener.port;
    await listener.close();
    await expectTransport(connectVsock(VMADDR_CID_LOCAL, unused, { timeoutMs: 300 }), /timed out|failed/);
  });
});

describe.skipIf(noLoopback !== undefined)('AF_VSOCK streams over CID 1 loopback', () => {
  it('moves several MB both ways, checksummed', async () => {
    const up = patternBytes(4 * 1024 * 1024 + 1, 21);
    const down = patternBytes(3 * 1024 * 1024 + 5, 22);
    let serverDigest: Promise<string> | undefined;
    const listener: VsockListener = await listenVsock(
      VMADDR_PORT_ANY,
      (stream) => {
        serverDigest = readAll(stream).then(sha256);
        void writeAllAndEnd(stream, down);
      },
      { allowHalfOpen: true },
    );
    const client = await connectVsock(VMADDR_CID_LOCAL, listener.port, { allowHalfOpen: true });
    expect(client.remoteAddress).toEqual({ family: 'vsock', cid: VMADDR_CID_LOCAL, port: listener.port });
    const [got] = await Promise.all([readAll(client), writeAllAndEnd(client, up)]);
    expect(sha256(got)).toBe(sha256(down));
    expect(await serverDigest).toBe(sha256(up));
    await listener.close();
  });

  it('serves many connections', async () => {
    const listener = await listenVsock(VMADDR_PORT_ANY, (stream) => stream.pipe(stream));
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const client = await connectVsock(VMADDR_CID_LOCAL, listener.port);
        const reply = readAll(client);
        client.end(patternBytes(5000 + i, 100 + i));
        return sha256(await reply) === sha256(patternBytes(5000 + i, 100 + i));
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    await listener.close();
  });
});
