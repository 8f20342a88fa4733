/**
 * The local stack module (cli/dev/stack.ts) itself: the hook that creates keys before any enclave
 * boots and returns enclave-config overrides; overrides checked before anything starts; several
 * enclaves behind one parent, each with its own simulated NSM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { kmsClientFor } from '../../cli/dev/demo-key.js';
import { startLocalStack, type LocalStack } from '../../cli/dev/stack.js';
import type { EnclaveOverrides } from '../../cli/dev/stack-config.js';
import { ensureBuilt } from '../helpers/built.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

describe('startLocalStack', () => {
  it('runs the key hook before the enclaves boot and merges what it returns into their config; two enclaves serve', async () => {
    ensureBuilt();
    let hookSawEnclave = true;
    let extraKeyArn = '';
    const stack: LocalStack = await startLocalStack({
      enclaves: 2,
      isolate: false,
      beforeEnclaves: async ({ admin, dir }) => {
        hookSawEnclave = existsSync(path.join(dir, 'run', 'enclave.sock'));
        const created = await admin.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'extra key from the hook' }));
        extraKeyArn = created.KeyMetadata!.Arn!;
        return { cards: { phoneCountryCode: '44' } };
      },
    });
    cleanup.push(() => stack.close());
    expect(hookSawEnclave).toBe(false);
    expect(extraKeyArn).toMatch(/^arn:aws:kms:/);
    expect(stack.enclaves).toHaveLength(2);
    for (const enclave of stack.enclaves) {
      const written = JSON.parse(readFileSync(enclave.configFile, 'utf8')) as { cards: { cardKeyArn: string; phoneCountryCode: string }; nsm: string };
      // The hook's override and the stack's own card and RSA keys, all there.
      expect(written.cards).toEqual({ cardKeyArn: stack.keyArn, rsaKey: { keyArn: stack.rsaKeyArn, publicKeySha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, phoneCountryCode: '44' });
      expect(enclave.child()?.process.exitCode).toBeNull();
    }
    // Each enclave its own NSM socket.
    expect(new Set(stack.enclaves.map((e) => e.config.nsm)).size).toBe(2);
    expect((await fetch(`${stack.apiUrl}/readyz`)).status).toBe(200);
    const admin = await kmsClientFor(stack.kms, stack.principal('admin'));
    try {
      expect((await admin.send(new DescribeKeyCommand({ KeyId: extraKeyArn }))).KeyMetadata?.KeySpec).toBe('RSA_2048');
    } finally {
      admin.destroy();
    }
  }, 120_000);

  it('refuses an override the enclave schema does not know before any enclave starts, naming the field', async () => {
    ensureBuilt();
    const dir = await mkdtemp(path.join(tmpdir(), 'ek-local-stack-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await expect(startLocalStack({ dir, isolate: false, enclaveConfig: JSON.parse('{"cards": {"extraKeyArn": "x"}}') as EnclaveOverrides })).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('extraKeyArn') });
    expect(existsSync(path.join(dir, 'run', 'enclave.sock'))).toBe(false);
    expect(existsSync(path.join(dir, 'run', 'enclave.json'))).toBe(false);
  }, 60_000);
});
