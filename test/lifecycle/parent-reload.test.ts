/**
 * RunningParent.setEnclaves (what SIGHUP applies): an update never leaves the API without an
 * enclave. A replacement that never becomes ready leaves the old enclave serving; one that does
 * takes over and the old one is drained.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseParentConfig } from '../../parent/config.js';
import { createLogger } from '../../parent/log.js';
import { startParent, type RunningParent } from '../../parent/runtime.js';
import type { FrameChannel } from '../../shared/protocol/channel.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';

/** Fake enclaves by URL: `ready` decides their status answer; `work` says who answered. */
const enclaves = new Map<string, { ready: boolean }>();
function connect(url: string): Promise<FrameChannel> {
  const state = enclaves.get(url);
  if (state === undefined) return Promise.reject(new Error('ECONNREFUSED'));
  const [parentSide, enclaveSide] = createMemoryChannelPair();
  new RpcPeer(enclaveSide, {
    handlers: {
      status: async () => ({ ready: state.ready, reason: state.ready ? undefined : 'waiting for keys', now: Date.now() }),
      work: async () => url,
    },
  });
  return Promise.resolve(parentSide);
}

describe('parent enclave reload', () => {
  let parent: RunningParent | undefined;
  const lines: Record<string, unknown>[] = [];
  afterEach(async () => {
    await parent?.close();
    enclaves.clear();
  });

  const start = async (): Promise<RunningParent> => {
    const config = parseParentConfig({
      http: { host: '127.0.0.1', port: 0 },
      apiTokens: ['a-token-of-16-chars-or-more'],
      enclaves: ['mem://blue'],
      region: 'eu-west-1',
    });
    return startParent({
      config,
      connectChannel: connect,
      listenStreams: async () => ({ close: () => undefined }),
      logger: createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
    });
  };
  const untilReady = async (p: RunningParent, url: string): Promise<void> => {
    for (let i = 0; i < 200 && !p.pool.links.find((l) => l.url === url)?.status().ready; i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('keeps the old enclave when the new one never becomes ready', async () => {
    enclaves.set('mem://blue', { ready: true });
    enclaves.set('mem://green', { ready: false });
    parent = await start();
    await untilReady(parent, 'mem://blue');
    const result = await parent.setEnclaves(['mem://green'], { readyTimeoutMs: 300 });
    expect(result).toEqual({ added: ['mem://green'], drained: [], kept: ['mem://blue'] });
    expect(await parent.pool.call('work', {})).toBe('mem://blue');
    expect(lines.some((l) => l.msg === 'enclave-update-stalled' && l.level === 'error')).toBe(true);
  });

  it('drains the old enclave once the new one is ready, and serves from the new one', async () => {
    enclaves.set('mem://blue', { ready: true });
    enclaves.set('mem://green', { ready: true });
    parent = await start();
    await untilReady(parent, 'mem://blue');
    const result = await parent.setEnclaves(['mem://green']);
    expect(result).toEqual({ added: ['mem://green'], drained: ['mem://blue'], kept: [] });
    expect(parent.pool.links.map((l) => l.url)).toEqual(['mem://green']);
    expect(await parent.pool.call('work', {})).toBe('mem://green');
  });
});
