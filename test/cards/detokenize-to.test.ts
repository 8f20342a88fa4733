import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detokenizeTo, recipientFingerprint } from '../../enclave/cards/detokenize-to.js';
import { Tokenizer } from '../../enclave/cards/tokenizer.js';
import { HpkeRecipient } from '../../shared/hpke/open.js';
import { HPKE_INFO } from '../../shared/hpke/suite.js';
import { codeOf } from '../helpers/code-of.js';

const PAN = '5555555555554444';

describe('detokenize-to an allowlisted recipient', () => {
  it('seals {"pan"} to the recipient in Auth mode from the enclave key, bound to the token as aad', async () => {
    const tokenizer = new Tokenizer(new Uint8Array(32).fill(3));
    const processor = await HpkeRecipient.generate();
    const enclave = await HpkeRecipient.generate();
    const token = tokenizer.tokenize(PAN);
    const allowed = new Set([recipientFingerprint(processor.publicKey)]);
    const sealed = await detokenizeTo(token, processor.publicKey, { tokenizer, allowedRecipients: allowed, sender: enclave });
    const aad = new TextEncoder().encode(token);
    const opened = await processor.open(sealed, { info: HPKE_INFO.detokenize, aad, senderPublicKey: enclave.publicKey });
    expect(JSON.parse(new TextDecoder().decode(opened.plaintext))).toEqual({ pan: PAN });
    // Not a Base-mode message, and not from another key.
    expect(await codeOf(processor.open(sealed, { info: HPKE_INFO.detokenize, aad }))).toBe('ERR_DECRYPT_FAILED');
    expect(await codeOf(processor.open(sealed, { info: HPKE_INFO.detokenize, aad, senderPublicKey: (await HpkeRecipient.generate()).publicKey }))).toBe('ERR_DECRYPT_FAILED');
    // Under another token (or another purpose) the same message does not open.
    const otherToken = tokenizer.tokenize('4111111111111111');
    expect(await codeOf(processor.open(sealed, { info: HPKE_INFO.detokenize, aad: new TextEncoder().encode(otherToken), senderPublicKey: enclave.publicKey }))).toBe('ERR_DECRYPT_FAILED');
    expect(await codeOf(processor.open(sealed, { info: HPKE_INFO.card, aad, senderPublicKey: enclave.publicKey }))).toBe('ERR_DECRYPT_FAILED');
  });

  it('refuses recipients whose fingerprint is not configured, and malformed keys or tokens', async () => {
    const tokenizer = new Tokenizer(new Uint8Array(32).fill(3));
    const processor = await HpkeRecipient.generate();
    const parentKey = await HpkeRecipient.generate();
    const allowed = new Set([recipientFingerprint(processor.publicKey)]);
    const token = tokenizer.tokenize(PAN);
    const options = { tokenizer, allowedRecipients: allowed, sender: await HpkeRecipient.generate() };
    expect(await codeOf(detokenizeTo(token, parentKey.publicKey, options))).toBe('ERR_RECIPIENT_NOT_ALLOWED');
    expect(await codeOf(detokenizeTo(token, new Uint8Array(31), options))).toBe('ERR_BAD_REQUEST');
    expect(await codeOf(detokenizeTo('not-a-token', processor.publicKey, options))).toBe('ERR_INVALID_TOKEN');
  });

  it('fingerprints are hex SHA-256 of the raw public key', () => {
    const key = new Uint8Array(32).fill(7);
    expect(recipientFingerprint(key)).toBe(createHash('sha256').update(Buffer.alloc(32, 7)).digest('hex'));
  });
});
