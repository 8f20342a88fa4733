/**
 * The simulator's CiphertextForRecipient: same bytes as the KMS vectors apart from the random
 * parts (docs/formats.md 5.3), opens with our own parser, refuses recipient keys KMS would not use.
 */
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { afterAll, describe, expect, it } from 'vitest';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { InputError } from '../../shared/errors.js';
import { buildCiphertextForRecipient, CONTENT_CHUNK_BYTES } from '../../sim/kms/recipient-cms.js';
import { childrenAt, hex, OPENSSL_AVAILABLE, rsaKeys, VECTOR_3, vector, vector3Key, vector3Spki } from './helpers.js';

/** Byte ranges of `cms` that hold random or key-dependent values (rid, encryptedKey, IV, content). */
function randomRanges(cms: Uint8Array): [number, number][] {
  const parsed = parseCiphertextForRecipient(cms);
  const bytes = Buffer.from(cms);
  return [parsed.recipientKeyId, parsed.encryptedKey, parsed.iv, parsed.ciphertext].map((part) => {
    const start = bytes.indexOf(Buffer.from(part));
    expect(start).toBeGreaterThan(0);
    return [start, start + part.byteLength];
  });
}

function fixedBytes(cms: Uint8Array): string {
  const ranges = randomRanges(cms);
  return hex(cms.filter((_, i) => !ranges.some(([start, end]) => i >= start && i < end)));
}

describe('buildCiphertextForRecipient: layout', () => {
  const hello = new TextEncoder().encode('Hello, World');

  it('matches vector 3 byte for byte outside rid, encryptedKey, IV and content', () => {
    const ours = buildCiphertextForRecipient(hello, vector3Spki());
    const theirs = vector(VECTOR_3);
    expect(ours.byteLength).toBe(theirs.byteLength);
    expect(fixedBytes(ours)).toBe(fixedBytes(theirs));
    // Same key, so even the rid is the vector's.
    expect(hex(parseCiphertextForRecipient(ours).recipientKeyId)).toBe(hex(parseCiphertextForRecipient(theirs).recipientKeyId));
  });

  describe.skipIf(!OPENSSL_AVAILABLE)('openssl asn1parse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'enclavekit-cms-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const structure = (cms: Uint8Array, name: string): string[] => {
      const file = join(dir, name);
      writeFileSync(file, cms);
      const run = spawnSync('openssl', ['asn1parse', '-inform', 'DER', '-in', file], { encoding: 'utf8' });
      expect(run.status).toBe(0);
      // Drop the values of the random parts; keep offsets, depths, header and content lengths, tags, OIDs.
      return run.stdout.trimEnd().split('\n').map((line) => line.replace(/\[HEX DUMP\]:[0-9A-F]*/, '[HEX DUMP]'));
    };

    it('shows the same offsets, depths, lengths and tags as vector 3 (form A, indefinite lengths)', () => {
      const ours = structure(buildCiphertextForRecipient(hello, vector3Spki()), 'ours.ber');
      const theirs = structure(vector(VECTOR_3), 'vector3.ber');
      expect(ours).toEqual(theirs);
      expect(ours.filter((line) => line.includes('l=inf'))).toHaveLength(5);
    });
  });

  it('splits content into 1000-byte OCTET STRING chunks inside an indefinite [0]', () => {
    const cms = buildCiphertextForRecipient(new Uint8Array(4096).fill(0x41), vector3Spki());
    const root = asn1js.fromBER(cms).result;
    const content = childrenAt(root, [1, 0, 2])[2]!;
    expect(content.idBlock.isConstructed).toBe(true);
    expect(content.lenBlock.isIndefiniteForm).toBe(true);
    const chunkLengths = childrenAt(root, [1, 0, 2, 2]).map((chunk) => (chunk as asn1js.OctetString).valueBlock.valueHexView.byteLength);
    expect(chunkLengths).toEqual([CONTENT_CHUNK_BYTES, 1000, 1000, 1000, 112]); // 4096 + 16 bytes of padding
  });

  it('uses a fresh CEK and IV per call', () => {
    const a = parseCiphertextForRecipient(buildCiphertextForRecipient(hello, vector3Spki()));
    const b = parseCiphertextForRecipient(buildCiphertextForRecipient(hello, vector3Spki()));
    expect(hex(a.iv)).not.toBe(hex(b.iv));
    expect(hex(a.encryptedKey)).not.toBe(hex(b.encryptedKey));
    expect(hex(a.ciphertext)).not.toBe(hex(b.ciphertext));
  });
});

describe('buildCiphertextForRecipient → openCiphertextForRecipient', () => {
  const keys = rsaKeys(2048);

  it.each([1, 15, 16, 17, 32, 999, 1000, 1001, 4096])('round-trips %i bytes', (size) => {
    const plaintext = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
    const cms = buildCiphertextForRecipient(plaintext, keys.spki);
    expect(cms.byteLength).toBeLessThanOrEqual(6144);
    expect(hex(openCiphertextForRecipient(cms, keys.privateKey))).toBe(hex(plaintext));
  });

  it('round-trips with RSA-3072 and RSA-4096 recipients; rid = SHA-256 of the given SPKI', () => {
    for (const bits of [3072, 4096]) {
      const big = rsaKeys(bits);
      const plaintext = new Uint8Array(4096).fill(bits & 0xff);
      const cms = buildCiphertextForRecipient(plaintext, big.spki);
      expect(cms.byteLength).toBeLessThanOrEqual(6144);
      const parsed = parseCiphertextForRecipient(cms);
      expect(parsed.encryptedKey.byteLength).toBe(bits / 8);
      expect(hex(parsed.recipientKeyId)).toBe(createHash('sha256').update(big.spki).digest('hex'));
      expect(hex(openCiphertextForRecipient(cms, big.privateKey))).toBe(hex(plaintext));
    }
  });

  it('opens with the vector 3 key when built for its SPKI', () => {
    const cms = buildCiphertextForRecipient(new Uint8Array(32).fill(9), vector3Spki());
    expect(hex(openCiphertextForRecipient(cms, vector3Key()))).toBe('09'.repeat(32));
  });
});

describe('buildCiphertextForRecipient: recipient keys and inputs it refuses', () => {
  const spkiOf = (publicKey: { export(o: { type: 'spki'; format: 'der' }): Buffer }): Uint8Array =>
    new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const refused: [string, () => Uint8Array][] = [
    ['RSA-1024', () => spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)],
    ['RSA-PSS 2048', () => spkiOf(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey)],
    ['EC P-256', () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)],
    ['Ed25519', () => spkiOf(generateKeyPairSync('ed25519').publicKey)],
    ['X25519', () => spkiOf(generateKeyPairSync('x25519').publicKey)],
    ['garbage', () => new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])],
    ['empty', () => new Uint8Array(0)],
  ];

  it.each(refused)('%s → InputError ERR_BAD_REQUEST', (_, spki) => {
    let thrown: unknown;
    try {
      buildCiphertextForRecipient(new Uint8Array(32), spki());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).code).toBe('ERR_BAD_REQUEST');
  });

  it('refuses empty and over-4096-byte plaintexts with RangeError (the simulator chose them)', () => {
    expect(() => buildCiphertextForRecipient(new Uint8Array(0), vector3Spki())).toThrow(RangeError);
    expect(() => buildCiphertextForRecipient(new Uint8Array(4097), vector3Spki())).toThrow(RangeError);
  });
});
