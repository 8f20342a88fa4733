/**
 * An enclave started from a modified bundle (one byte more: a different PCR0) is refused
 * by KMS with AccessDenied, because the key policy is bound to the original bundle's PCR0. The
 * stack stays up and says why it is not ready; nothing is decrypted.
 */
import { copyFileSync, appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAttestation } from '../../shared/attestation/index.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { readFileSync } from 'node:fs';
import { ENCLAVE_BUNDLE, startStack, type Stack } from './stack.js';

let stack: Stack;
const dir = mkdtempSync(path.join(tmpdir(), 'ek-modified-'));
const modified = path.join(dir, 'enclave.js');

beforeAll(async () => {
  copyFileSync(ENCLAVE_BUNDLE, modified);
  appendFileSync(modified, '\n');
  stack = await startStack({ bundle: modified, policyBundle: ENCLAVE_BUNDLE });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an enclave whose measurement is not in the key policy', () => {
  it('has a different PCR0 and PCR2 but the same PCR1', () => {
    const original = measureEnclave({ appBundle: readFileSync(ENCLAVE_BUNDLE) });
    expect(stack.pcrs[0]).not.toBe(original[0]);
    expect(stack.pcrs[2]).not.toBe(original[2]);
    expect(stack.pcrs[1]).toBe(original[1]);
  });

  it('is refused by KMS with AccessDenied and never becomes ready', async () => {
    let ready: { status: number; json: { error?: { code: string; message: string } } } | undefined;
    for (let i = 0; i < 100; i++) {
      ready = await stack.api('/readyz');
      if (ready.json.error?.message.includes('ERR_KMS_ACCESS_DENIED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready?.status).toBe(503);
    // The parent's handover and the enclave's own status both name the KMS refusal.
    expect(ready?.json.error).toEqual({ code: 'ERR_ENCLAVE_UNAVAILABLE', message: expect.stringMatching(/^(key load|enclave setup) failed \(ERR_KMS_ACCESS_DENIED\)$/) });
    expect(stack.enclaveOutput()).toMatch(/"event":"kms-call","operation":"Decrypt","outcome":"error"/);
    // The card API answers 503, never a token made without the real key...
    expect((await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: 'AAAA' } }) })).status).toBe(503);
  });

  it('still hands out its attestation document, so an operator can see which PCR differs', async () => {
    const res = await stack.api('/v1/attestation');
    expect(res.status).toBe(200);
    const pcrs = parseAttestation(Buffer.from(res.json.document, 'base64')).pcrs;
    expect(Buffer.from(pcrs.get(0)!).toString('hex')).toBe(stack.pcrs[0]);
  });
});
