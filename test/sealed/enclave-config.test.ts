/**
 * The measured enclave configuration pins the enclave's own keys (docs/security.md "Two kinds of
 * KMS key"): each wrapped key needs a SHA-256 pin of its blob, and may not live under the card key.
 */
import { describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';

const CARD_KEY = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const INTERNAL_KEY = 'arn:aws:kms:us-east-1:111122223333:key/66666666-7777-8888-9999-000000000000';
const pin = (keyId: string, sha?: string) => ({ keyId, encryptionContext: { purpose: 'tokenization-key' }, ...(sha === undefined ? {} : { ciphertextSha256: sha }) });
const config = (keys: Record<string, unknown>) => ({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: CARD_KEY }, keys });

function refusal(raw: unknown): string {
  try {
    parseEnclaveConfig(raw);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_CONFIG');
    return (error as Error).message;
  }
  throw new Error('expected ERR_CONFIG');
}

describe('enclave config: wrapped-key pins', () => {
  it('accepts a key under the internal key with its blob pin', () => {
    expect(parseEnclaveConfig(config({ tokenization: pin(INTERNAL_KEY, 'ab'.repeat(32)) })).keys.tokenization?.keyId).toBe(INTERNAL_KEY);
  });

  it('refuses a key without a ciphertextSha256 pin', () => {
    expect(refusal(config({ tokenization: pin(INTERNAL_KEY) }))).toMatch(/keys\.tokenization\.ciphertextSha256/);
  });

  it('refuses an enclave key under the card key (producers can make data keys there)', () => {
    expect(refusal(config({ tokenization: pin(CARD_KEY, 'ab'.repeat(32)) }))).toMatch(/keys\.tokenization\.keyId/);
  });

  it('refuses debug mode unless told otherwise', () => {
    expect(parseEnclaveConfig(config({})).refuseDebugMode).toBe(true);
  });
});
