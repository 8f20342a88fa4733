/**
 * The boot-failure reason an enclave reports is shown on /readyz (no auth) and logged, so it goes
 * through the parent's redaction guard first: an attacker-shaped or buggy message holding a card
 * number must not come out.
 */
import { describe, expect, it } from 'vitest';
import { parseParentConfig } from '../../parent/config.js';
import { createLogger } from '../../parent/log.js';
import { startParent, type RunningParent } from '../../parent/runtime.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';

const PAN = '4111111111111111';

async function readyzWith(message: string): Promise<{ body: string; log: string }> {
  const lines: string[] = [];
  const parent: RunningParent = await startParent({
    config: parseParentConfig({ http: { host: '127.0.0.1', port: 0 }, apiTokens: ['a-token-of-16-chars-or-more'], enclaves: ['mem://e'], region: 'eu-west-1' }),
    connectChannel: async () => {
      const [parentSide, enclaveSide] = createMemoryChannelPair();
      new RpcPeer(enclaveSide, { handlers: { status: async () => ({ ready: false, reason: 'boot failed', boot: { outcome: 'failed', code: 'ERR_CONFIG', message } }) } });
      return parentSide;
    },
    listenStreams: async () => ({ close: () => undefined }),
    logger: createLogger({ write: (line) => lines.push(line) }),
  });
  try {
    let body = '';
    for (let i = 0; i < 200 && !body.includes('enclave boot failed'); i++) {
      body = await (await fetch(`${parent.url}/readyz`)).text();
      await new Promise((r) => setTimeout(r, 10));
    }
    return { body, log: lines.join('') };
  } finally {
    await parent.close();
  }
}

describe('boot-failure reasons pass the redaction guard', () => {

  it('shows an ordinary reason as sent', async () => {
    const { body, log } = await readyzWith('enclave config: kms.region: must be a region name');
    expect(JSON.parse(body).error.message).toBe('enclave boot failed: ERR_CONFIG: enclave config: kms.region: must be a region name');
    expect(log).toContain('"msg":"enclave-boot-failed"');
  });

  it('withholds a reason holding a card number from /readyz and the log', async () => {
    const { body, log } = await readyzWith(`bad card ${PAN}`);
    expect(body).toContain('enclave boot failed: (reason withheld by the redaction guard)');
    expect(body).not.toContain(PAN);
    expect(log).not.toContain(PAN);
  });
});
