// The hand-written DER reader (kept for speed, see der.ts) against @peculiar/x509 and node's
// X509Certificate on every certificate of every real document.
import 'reflect-metadata';
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { parseAttestation } from '../../shared/attestation/index.js';
import { ParsedCertificate } from '../../shared/attestation/certificate.js';
import { DerError, DerReader, oidToString, readTime } from '../../shared/attestation/der.js';
import { loadDoc, vectorFiles } from './helpers.js';

const certificates = new Map<string, Uint8Array>();
for (const file of vectorFiles()) {
  const parsed = parseAttestation(loadDoc(file));
  for (const der of [parsed.certificate, ...parsed.cabundle]) certificates.set(Buffer.from(der).toString('base64'), new Uint8Array(der));
}

describe('ParsedCertificate agrees with @peculiar/x509 and node on real Nitro certificates', () => {
  it(`covers ${certificates.size} distinct certificates`, () => {
    expect(certificates.size).toBeGreaterThan(40);
  });

  it('subject, validity, basicConstraints, keyUsage, key and TBS signature', () => {
    for (const der of certificates.values()) {
      const ours = new ParsedCertificate(der);
      const theirs = new x509.X509Certificate(der);
      const node = new NodeX509(der);
      expect(ours.subject).toBe(theirs.subject);
      expect(ours.notBefore).toBe(theirs.notBefore.getTime());
      expect(ours.notAfter).toBe(theirs.notAfter.getTime());
      const bc = theirs.getExtension(x509.BasicConstraintsExtension);
      expect(ours.basicConstraints).toEqual(bc === null ? undefined : { ca: bc.ca, pathLen: bc.pathLength });
      expect(ours.isCA).toBe(node.ca);
      const ku = theirs.getExtension(x509.KeyUsagesExtension);
      expect(ours.keyUsage).toBe(ku === null ? undefined : ku.usages);
      expect(Buffer.from(ours.spki)).toEqual(Buffer.from(theirs.publicKey.rawData));
      expect(ours.publicKey().equals(node.publicKey)).toBe(true);
      // The certificate is 30 82 LL LL ‖ tbsCertificate ‖ …: the TBS slice starts at byte 4.
      expect(ours.tbs).toEqual(der.subarray(4, 4 + ours.tbs.length));
      expect(ours.sha256).toBe(createHash('sha256').update(der).digest('hex'));
    }
  });
});

describe('DER reader edge cases', () => {
  it('refuses indefinite, non-minimal and overlong lengths, and high tag numbers', () => {
    const read = (bytes: number[]) => () => new DerReader(Uint8Array.from(bytes)).read();
    expect(read([0x30, 0x80, 0x00, 0x00])).toThrow(DerError);
    expect(read([0x04, 0x81, 0x05, 1, 2, 3, 4, 5])).toThrow('non-minimal length');
    expect(read([0x04, 0x82, 0x00, 0x90, ...new Array(0x90).fill(0)])).toThrow('non-minimal length');
    expect(read([0x04, 0x05, 1, 2])).toThrow('length exceeds the data');
    expect(read([0x1f, 0x01, 0x00])).toThrow('high tag');
    expect(new DerReader(Uint8Array.from([0x04, 0x81, 0x80, ...new Array(0x80).fill(7)])).read().contents.length).toBe(0x80);
  });

  it('decodes OIDs and both time forms, refusing impossible dates', () => {
    expect(oidToString(Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]))).toBe('1.2.840.10045.4.3.3');
    expect(oidToString(Uint8Array.from([0x55, 0x1d, 0x13]))).toBe('2.5.29.19');
    const time = (tag: number, text: string) => readTime({ tag, contents: new Uint8Array(Buffer.from(text)), whole: new Uint8Array(0) });
    expect(time(0x17, '491028142805Z')).toBe(Date.UTC(2049, 9, 28, 14, 28, 5));
    expect(time(0x17, '500101000000Z')).toBe(Date.UTC(1950, 0, 1));
    expect(time(0x18, '20500101000000Z')).toBe(Date.UTC(2050, 0, 1));
    expect(time(0x17, '240229235959Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59));
    expect(time(0x18, '20000229000000Z')).toBe(Date.UTC(2000, 1, 29));
    expect(time(0x18, '00500101000000Z')).toBe(new Date('0050-01-01T00:00:00Z').getTime());
    expect(() => time(0x17, '230229000000Z')).toThrow(DerError);
    expect(() => time(0x18, '19000229000000Z')).toThrow(DerError);
    expect(() => time(0x17, '250431000000Z')).toThrow(DerError);
    expect(() => time(0x17, '251201240000Z')).toThrow(DerError);
    expect(() => time(0x17, '25120100000aZ')).toThrow(DerError);
    expect(() => time(0x17, '250231000000Z')).toThrow(DerError);
    expect(() => time(0x17, '251301000000Z')).toThrow(DerError);
    expect(() => time(0x17, '2512010000Z')).toThrow(DerError);
    expect(() => time(0x18, '20251201000000.5Z')).toThrow(DerError);
    expect(() => time(0x17, '251201000000+0100')).toThrow(DerError);
  });
});
