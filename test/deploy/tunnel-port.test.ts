/**
 * The KMS tunnel port: AWS's nitro-enclaves-vsock-proxy listens on vsock port 8000 by default, so
 * enclavekit's defaults stay off it, parent and enclave defaults agree, and a parent that finds a
 * well-known port taken names the likely owner instead of a bare EADDRINUSE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { parseParentConfig } from '../../parent/config.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { listenVsock, VMADDR_PORT_ANY, type VsockListener } from '../../shared/native/vsock.js';
import { listenStreams } from '../../shared/transport/index.js';
import { vsockPortClash } from '../../shared/transport/vsock-ports.js';

const VSOCK_PROXY_PORT = 8000;
const portOf = (url: string) => Number(new URL(url).port);

describe('tunnel port defaults', () => {
  const parent = parseParentConfig({ apiTokens: ['t'.repeat(16)], enclaves: ['vsock://16:5005'], region: 'us-east-1' });
  const enclave = parseEnclaveConfig({ kms: { region: 'us-east-1' } });

  it('parent and enclave agree on a port that is not the vsock-proxy default', () => {
    expect(portOf(parent.proxy.listen)).toBe(portOf(enclave.proxy));
    expect(portOf(enclave.proxy)).not.toBe(VSOCK_PROXY_PORT);
    expect(new URL(enclave.proxy).hostname).toBe('3');
  });
});

describe('vsockPortClash', () => {
  const inUse = Object.assign(new Error('bind'), { code: 'EADDRINUSE' });
  it('names the vsock-proxy for port 8000 and the boot heartbeat for 9000, also through a cause chain', () => {
    expect(vsockPortClash(8000, inUse)).toContain('nitro-enclaves-vsock-proxy');
    expect(vsockPortClash(8000, new Error('wrapped', { cause: inUse }))).toContain('nitro-enclaves-vsock-proxy');
    expect(vsockPortClash(9000, inUse)).toContain('heartbeat');
  });
  it('says nothing for other ports or other errors', () => {
    expect(vsockPortClash(5006, inUse)).toBeUndefined();
    expect(vsockPortClash(8000, Object.assign(new Error('x'), { code: 'EACCES' }))).toBeUndefined();
  });
});

/** Why a vsock port cannot be bound here, or undefined. */
async function bindProblem(): Promise<string | undefined> {
  try {
    const listener = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    await listener.close();
    return undefined;
  } catch (error) {
    return `AF_VSOCK cannot be bound here (${(error as Error).message})`;
  }
}
const noBind = await bindProblem();
if (noBind !== undefined) console.warn(`vsock clash tests skipped: ${noBind}`);

describe.skipIf(noBind !== undefined)('a parent listener on a taken vsock port', () => {
  const held: { close(): Promise<void> | void }[] = [];
  afterEach(async () => {
    for (const listener of held.splice(0)) await listener.close();
  });

  async function listenError(url: string): Promise<EnclaveKitError> {
    const error = await listenStreams(url, (s) => s.destroy()).then(
      async (listener) => {
        held.push(listener);
        return expect.unreachable('the second listener bound');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EnclaveKitError);
    return error as EnclaveKitError;
  }

  it('names the vsock-proxy when port 8000 is held (as by nitro-enclaves-vsock-proxy)', async (ctx) => {
    let holder: VsockListener;
    try {
      holder = await listenVsock(VSOCK_PROXY_PORT, (s) => s.destroy());
    } catch (error) {
      console.warn(`skipped: vsock port 8000 is already taken on this machine (${(error as Error).message})`);
      return ctx.skip();
    }
    held.push(holder);
    const error = await listenError(`vsock://4294967295:${VSOCK_PROXY_PORT}`);
    expect(error.code).toBe('ERR_TRANSPORT');
    expect(error.message).toContain('EADDRINUSE');
    expect(error.message).toContain('nitro-enclaves-vsock-proxy');
  });

  it('any other taken port gives the plain error (control)', async () => {
    const holder = await listenVsock(VMADDR_PORT_ANY, (s) => s.destroy());
    held.push(holder);
    const error = await listenError(`vsock://4294967295:${holder.port}`);
    expect(error.message).toContain('EADDRINUSE');
    expect(error.message).not.toContain('vsock-proxy');
  });
});
