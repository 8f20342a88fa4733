/**
 * Interop with OpenSSL 3 (`openssl cms`), the independent implementation the issue names:
 * our CiphertextForRecipient opens with `openssl cms -decrypt`, and what `openssl cms -encrypt`
 * writes for an RSA-OAEP-SHA256 recipient identified by key id opens with our code.
 *
 * The recipient certificate carries subjectKeyIdentifier = SHA-256(DER SPKI), the identifier KMS
 * uses (docs/formats.md 5.3), so `-keyid` makes OpenSSL write the rid KMS would write.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { buildCiphertextForRecipient } from '../../sim/kms/recipient-cms.js';
import { failureOf, hex, OPENSSL_AVAILABLE } from './helpers.js';

function openssl(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const run = spawnSync('openssl', args, { maxBuffer: 1 << 20 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString('utf8') };
}

function mustOpenssl(args: string[]): Buffer {
  const run = openssl(args);
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
  return run.stdout;
}

const OAEP_SHA256 = ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256'];

describe.skipIf(!OPENSSL_AVAILABLE)('OpenSSL interop', () => {
  let dir = '';
  let keyPem = '';
  let certPem = '';
  let privateKey: KeyObject;
  let spki: Uint8Array;
  let file: (name: string, bytes?: Uint8Array) => string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'enclavekit-cms-openssl-'));
    file = (name, bytes) => {
      const path = join(dir, name);
      if (bytes !== undefined) writeFileSync(path, bytes);
      return path;
    };
    keyPem = file('key.pem');
    certPem = file('cert.pem');
    mustOpenssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPem]);
    privateKey = createPrivateKey(readFileSync(keyPem));
    spki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
    const ski = createHash('sha256').update(spki).digest('hex');
    mustOpenssl(['req', '-x509', '-new', '-key', keyPem, '-subj', '/CN=enclavekit test enclave', '-days', '1',
      '-addext', `subjectKeyIdentifier=${ski}`, '-out', certPem]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('ours → openssl cms -decrypt', () => {
    it.each([1, 32, 4096])('%i bytes open with -inkey alone (no certificate)', (size) => {
      const plaintext = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
      const input = file(`ours-${size}.ber`, buildCiphertextForRecipient(plaintext, spki));
      const out = mustOpenssl(['cms', '-decrypt', '-inform', 'DER', '-in', input, '-inkey', keyPem, '-binary']);
      expect(hex(out)).toBe(hex(plaintext));
    });

    it('opens with -recip cert -inkey: OpenSSL finds the recipient by the rid (the cert SKI = SHA-256 SPKI)', () => {
      const plaintext = new Uint8Array(32).fill(0x5a);
      const input = file('ours-recip.ber', buildCiphertextForRecipient(plaintext, spki));
      const out = mustOpenssl(['cms', '-decrypt', '-inform', 'DER', '-in', input, '-recip', certPem, '-inkey', keyPem, '-binary']);
      expect(hex(out)).toBe(hex(plaintext));
    });

    it('openssl cms -cmsout -print names the OAEP parameters and the SKI rid', () => {
      const input = file('ours-print.ber', buildCiphertextForRecipient(new Uint8Array(32), spki));
      const printed = mustOpenssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', input]).toString('utf8');
      expect(printed).toMatch(/algorithm: rsaesOaep/);
      expect(printed.match(/OBJECT +:sha256/g)).toHaveLength(2); // hashFunc and the MGF1 hash
      expect(printed).toMatch(/OBJECT +:mgf1/);
      expect(printed).toMatch(/algorithm: aes-256-cbc/);
      expect(printed).toMatch(/d\.subjectKeyIdentifier/);
    });
  });

  describe('openssl cms -encrypt → ours', () => {
    const plaintext = new TextEncoder().encode('data key from openssl: 0123456789abcdef0123456789abcdef');
    const encrypt = (name: string, extra: string[]): Uint8Array => {
      const input = file(`${name}.txt`, plaintext);
      const output = file(`${name}.der`);
      mustOpenssl(['cms', '-encrypt', '-aes256', '-binary', '-in', input, '-outform', 'DER', '-out', output, '-recip', certPem, ...extra]);
      return new Uint8Array(readFileSync(output));
    };

    it('DER output (definite lengths, form B, hash params absent) opens', () => {
      const cms = encrypt('form-b', ['-keyid', ...OAEP_SHA256]);
      expect(cms[0]).toBe(0x30);
      expect(cms[1]).not.toBe(0x80); // definite length: not the KMS layout, still accepted
      expect(hex(openCiphertextForRecipient(cms, privateKey))).toBe(hex(plaintext));
    });

    it('-stream output (indefinite lengths, form A chunks) opens', () => {
      const cms = encrypt('form-a', ['-stream', '-keyid', ...OAEP_SHA256]);
      expect(hex(cms.subarray(0, 2))).toBe('3080');
      expect(hex(openCiphertextForRecipient(cms, privateKey))).toBe(hex(plaintext));
    });

    it('PKCS#1 v1.5 key transport (openssl default) is ERR_CMS_MALFORMED', () => {
      const cms = encrypt('pkcs1', ['-keyid']);
      expect(failureOf(() => parseCiphertextForRecipient(cms))).toBe('ERR_CMS_MALFORMED');
    });

    it('OAEP with the default SHA-1 digest is ERR_CMS_MALFORMED', () => {
      const cms = encrypt('oaep-sha1', ['-keyid', '-keyopt', 'rsa_padding_mode:oaep']);
      expect(failureOf(() => parseCiphertextForRecipient(cms))).toBe('ERR_CMS_MALFORMED');
    });

    it('issuerAndSerialNumber rid (no -keyid, KTRI version 0) is ERR_CMS_MALFORMED', () => {
      const cms = encrypt('issuer-serial', OAEP_SHA256);
      expect(failureOf(() => parseCiphertextForRecipient(cms))).toBe('ERR_CMS_MALFORMED');
    });

    it('AES-128-CBC content is ERR_CMS_MALFORMED', () => {
      const input = file('aes128.txt', plaintext);
      const output = file('aes128.der');
      mustOpenssl(['cms', '-encrypt', '-aes128', '-binary', '-in', input, '-outform', 'DER', '-out', output, '-recip', certPem, '-keyid', ...OAEP_SHA256]);
      expect(failureOf(() => parseCiphertextForRecipient(new Uint8Array(readFileSync(output))))).toBe('ERR_CMS_MALFORMED');
    });
  });
});
