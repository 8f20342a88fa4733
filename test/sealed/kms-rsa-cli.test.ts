/** `enclavekit seal`: stdin in, base64 kmsRsa out, from a DER or PEM public key; usage errors exit 2. */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsRsaKeyId } from '../../client/kms-rsa.js';
import { openKmsRsaInput } from '../../enclave/sealed/kms-rsa.js';
import { ensureBuilt } from '../helpers/built.js';
import { enclavekit } from '../cli/run.js';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
const spki = rsa.publicKey.export({ format: 'der', type: 'spki' });
const dir = mkdtempSync(join(tmpdir(), 'ek-seal-cli-'));
const der = join(dir, 'key.der');
const pem = join(dir, 'key.pem');
writeFileSync(der, spki);
writeFileSync(pem, rsa.publicKey.export({ format: 'pem', type: 'spki' }));
writeFileSync(join(dir, 'ec.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }));

beforeAll(() => ensureBuilt(), 150_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kms = {
  async decrypt(input: { CiphertextBlob: Uint8Array }) {
    return { KeyId: KEY_ARN, Plaintext: new Uint8Array(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, input.CiphertextBlob)) };
  },
};
const open = (b64: string, purpose: string, field?: string) =>
  openKmsRsaInput(new Uint8Array(Buffer.from(b64.trim(), 'base64')), { kms, key: { keyArn: KEY_ARN, publicKeySha256: kmsRsaKeyId(spki) }, purpose, field, maxBytes: 4096 });

describe('enclavekit seal --kms-public-key', () => {
  it('seals stdin for the operation and field given, from DER or PEM', async () => {
    const card = await enclavekit(['seal', '--kms-public-key', der, '--op', 'card'], { input: '{"pan":"4111111111111111","exp":"12/30"}' });
    expect(card.status).toBe(0);
    expect(card.stdout).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    expect(new TextDecoder().decode(await open(card.stdout, 'card'))).toBe('{"pan":"4111111111111111","exp":"12/30"}');

    const ssn = await enclavekit(['seal', '--kms-public-key', pem, '--op', 'pii-value', '--field', 'ssn'], { input: '123-45-6789' });
    expect(ssn.status).toBe(0);
    expect(new TextDecoder().decode(await open(ssn.stdout, 'pii-value', 'ssn'))).toBe('123-45-6789');
    await expect(open(ssn.stdout, 'pii-value', 'name')).rejects.toMatchObject({ code: 'ERR_DECRYPT_FAILED' });
  });

  it.each([
    [['--op', 'card'], /--kms-public-key is required/],
    [['--kms-public-key', 'KEY'], /--op is required/],
    [['--kms-public-key', 'KEY', '--op', 'pii'], /--op must be card, pii-text or pii-value/],
    [['--kms-public-key', 'KEY', '--op', 'pii-value'], /needs --field/],
    [['--kms-public-key', 'KEY', '--op', 'card', '--field', 'ssn'], /takes no --field/],
    [['--kms-public-key', 'KEY', '--op', 'pii-value', '--field', 'SSN!'], /--field/],
    [['--kms-public-key', 'EC', '--op', 'card'], /expected an RSA 2048, 3072 or 4096/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const run = await enclavekit(['seal', ...args.map((a) => (a === 'KEY' ? der : a === 'EC' ? join(dir, 'ec.pem') : a))], { input: 'x' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });
});
