/**
 * The direct single-shot open (shared/hpke/open-single-shot.ts) against @hpke/core's own open on
 * the same messages: generated messages in Base and Auth modes, each also with one byte of enc,
 * ciphertext, aad or info changed, or another sender key. Both must accept and reject alike and
 * agree on the plaintext. Fixed seed: the same cases on every run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from '../../shared/errors.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { sealHpke } from '../../shared/hpke/seal.js';
import { generateHpkeKeyPair, hpkeSuite, importPrivateKey, importPublicKey, infoBytes, sealedInputInfo } from '../../shared/hpke/suite.js';

const hex = (bytes: Uint8Array | ArrayBuffer): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

/** @hpke/core's generic open; 'reject' on any failure. */
async function libraryOpen(recipientRaw: Uint8Array, recipientPublic: Uint8Array, enc: Uint8Array, ciphertext: Uint8Array, info: string, aad: Uint8Array, sender?: Uint8Array): Promise<string> {
  try {
    const recipientKey = { privateKey: await importPrivateKey(recipientRaw), publicKey: await importPublicKey(recipientPublic) };
    const senderPublicKey = sender === undefined ? undefined : await importPublicKey(sender);
    const plaintext = await hpkeSuite().open({ recipientKey, enc, info: infoBytes(info), ...(senderPublicKey === undefined ? {} : { senderPublicKey }) }, ciphertext, aad);
    return hex(plaintext);
  } catch {
    return 'reject';
  }
}

async function ourOpen(recipient: HpkeRecipient, enc: Uint8Array, ciphertext: Uint8Array, info: string, aad: Uint8Array, sender?: Uint8Array): Promise<string> {
  try {
    const opened = await recipient.open({ enc, ciphertext }, { info, aad, ...(sender === undefined ? {} : { senderPublicKey: sender }) });
    return hex(opened.plaintext);
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionFailedError);
    return 'reject';
  }
}

describe('single-shot open agrees with @hpke/core', () => {
  it('accepts and rejects the same messages, with the same plaintext', async () => {
    const recipientKeys = await generateHpkeKeyPair();
    const recipient = await HpkeRecipient.fromPrivateKey(recipientKeys.privateKey);
    const sender = await generateHpkeKeyPair();
    const stranger = await generateHpkeKeyPair();
    const infos = [sealedInputInfo('card'), sealedInputInfo('pii-text'), sealedInputInfo('pii-value', 'email')];
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.boolean(),
        fc.nat(2),
        fc.constantFrom('none', 'enc', 'ciphertext', 'aad', 'info', 'sender', 'mode'),
        fc.nat(),
        async (plaintext, aad, auth, infoIndex, change, where) => {
          const info = infos[infoIndex]!;
          const sealed = await sealHpke(recipientKeys.publicKey, plaintext, { info, aad, ...(auth ? { senderPrivateKey: sender.privateKey } : {}) });
          let enc: Uint8Array = sealed.enc;
          let ciphertext: Uint8Array = sealed.ciphertext;
          let openAad: Uint8Array = aad;
          let openInfo = info;
          let openSender: Uint8Array | undefined = auth ? sender.publicKey : undefined;
          const flip = (bytes: Uint8Array): Uint8Array => {
            const copy = bytes.slice();
            if (copy.length === 0) return Uint8Array.of(1);
            copy[where % copy.length] = (copy[where % copy.length] as number) ^ (1 << (where % 8));
            return copy;
          };
          if (change === 'enc') enc = flip(enc);
          if (change === 'ciphertext') ciphertext = flip(ciphertext);
          if (change === 'aad') openAad = flip(aad);
          if (change === 'info') openInfo = infos[(infoIndex + 1) % infos.length]!;
          if (change === 'sender') openSender = stranger.publicKey;
          if (change === 'mode') openSender = auth ? undefined : sender.publicKey;
          const ours = await ourOpen(recipient, enc, ciphertext, openInfo, openAad, openSender);
          const theirs = await libraryOpen(recipientKeys.privateKey, recipientKeys.publicKey, enc, ciphertext, openInfo, openAad, openSender);
          expect(ours).toBe(theirs);
          if (change === 'none') expect(ours).toBe(hex(plaintext));
          if (ours === 'reject') rejected += 1;
          else accepted += 1;
        },
      ),
      { seed: 9180, numRuns: 150 },
    );
    // Both outcomes were exercised, so agreement is not vacuous.
    expect(accepted).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(10);
  });

  it('zeroes nothing the caller owns and keeps working after many opens of one sender', async () => {
    const recipient = await HpkeRecipient.generate();
    const sender = await generateHpkeKeyPair();
    const senderCopy = sender.publicKey.slice();
    for (let i = 0; i < 5; i += 1) {
      const sealed = await sealHpke(recipient.publicKey, Uint8Array.of(i), { info: sealedInputInfo('card'), senderPrivateKey: sender.privateKey });
      const opened = await recipient.open(sealed, { info: sealedInputInfo('card'), senderPublicKey: sender.publicKey });
      expect([...opened.plaintext]).toEqual([i]);
      expect(opened.mode).toBe('auth');
    }
    expect(hex(sender.publicKey)).toBe(hex(senderCopy));
  });

  it("the per-sender static DH is never another sender's: a cached sender does not open for an impostor, and evicted senders still open", async () => {
    const recipient = await HpkeRecipient.generate();
    const info = sealedInputInfo('card');
    const senders = await Promise.all(Array.from({ length: 260 }, () => generateHpkeKeyPair()));
    const first = senders[0]!;
    const sealedByFirst = await sealHpke(recipient.publicKey, Uint8Array.of(1), { info, senderPrivateKey: first.privateKey });
    await recipient.open(sealedByFirst, { info, senderPublicKey: first.publicKey });
    // Claimed as coming from another sender: that sender's own DH is used, and it fails.
    await expect(recipient.open(sealedByFirst, { info, senderPublicKey: senders[1]!.publicKey })).rejects.toBeInstanceOf(DecryptionFailedError);
    // More senders than are kept: the first one's entry is evicted, then recomputed.
    for (const sender of senders.slice(1)) {
      const sealed = await sealHpke(recipient.publicKey, Uint8Array.of(2), { info, senderPrivateKey: sender.privateKey });
      expect([...(await recipient.open(sealed, { info, senderPublicKey: sender.publicKey })).plaintext]).toEqual([2]);
    }
    expect([...(await recipient.open(sealedByFirst, { info, senderPublicKey: first.publicKey })).plaintext]).toEqual([1]);
    recipient.dispose();
    await expect(recipient.open(sealedByFirst, { info, senderPublicKey: first.publicKey })).rejects.toThrow('disposed');
  });
});
