/**
 * The dev stack's demo HPKE parties, kept in the state directory across runs: an allowlisted
 * producer (HPKE Auth-mode sender) and a detokenize-to recipient. Each private key is a file of its
 * own (base64 of the raw 32-byte X25519 key, mode 0600) so examples can read it; these are demo
 * keys of a simulated stack, never to be used with real data.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateHpkeKeyPair } from '../../shared/hpke/index.js';
import { hpkePublicKeyOf } from '../../shared/hpke/suite.js';

/** The detokenize-to recipient's name in the demo config and token scope. */
export const DEMO_RECIPIENT = 'processor';

export interface DemoHpkeKey {
  /** Base64 raw X25519 public key (as in the enclave config). */
  publicKey: string;
  /** File holding the base64 raw X25519 private key. */
  privateKeyFile: string;
}

async function ensureKey(file: string): Promise<DemoHpkeKey> {
  let privateKey: Uint8Array;
  try {
    privateKey = new Uint8Array(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64'));
    if (privateKey.length !== 32) throw new Error('not a 32-byte key');
  } catch {
    privateKey = (await generateHpkeKeyPair()).privateKey;
    await writeFile(file, `${Buffer.from(privateKey).toString('base64')}\n`, { mode: 0o600 });
  }
  const publicKey = Buffer.from(await hpkePublicKeyOf(privateKey)).toString('base64');
  privateKey.fill(0);
  return { publicKey, privateKeyFile: file };
}

export async function ensureDemoHpkeKeys(root: string): Promise<{ sender: DemoHpkeKey; recipient: DemoHpkeKey & { name: string } }> {
  const sender = await ensureKey(path.join(root, 'demo-sender.key'));
  const recipient = await ensureKey(path.join(root, `demo-recipient-${DEMO_RECIPIENT}.key`));
  return { sender, recipient: { name: DEMO_RECIPIENT, ...recipient } };
}
