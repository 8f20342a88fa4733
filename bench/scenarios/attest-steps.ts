/**
 * The steps of a cold attestation verification (every certificate new), measured one by one on
 * the document the `attest` scenario uses, to explain its "all new" figure and to choose the
 * cheapest correct way to do each step on the Node (and OpenSSL) at hand:
 * - the P-384 signature check: five per cold verification (four certificates and the COSE);
 * - reading the COSE envelope and payload, hashing a certificate, reading a certificate (ours,
 *   @peculiar/x509, node's X509Certificate);
 * - importing a certificate's P-384 key, four per cold verification (the pinned root's is kept):
 *   from SPKI DER, from PEM, from a JWK of the point, or as X509Certificate#publicKey;
 * - a certificate signature by crypto.verify over the TBS, or natively by X509Certificate#verify;
 * - the first verify with a newly imported key, and the whole cold sequence of signature work
 *   (four links and the COSE signature) done each way, without our parsing and policy.
 * Rates are per second of CPU time (interleave's 'cpu' clock): a breakdown, not a throughput, and
 * one that other processes on the machine disturb less. Each step is also given in P-384
 * verifies: per round, the verify's rate over the step's rate, then the median. No checks.
 */
import 'reflect-metadata';
import * as peculiar from '@peculiar/x509';
import { createPublicKey, hash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAttestation, sigStructure, verifyAttestation } from '../../shared/attestation/index.js';
import { ParsedCertificate } from '../../shared/attestation/certificate.js';
import { trustAnchors } from '../../shared/attestation/roots.js';
import { median, interleave, type BenchFigure, type Scenario } from '../main.js';

const DOC = fileURLToPath(new URL('../../test/vectors/attestation/real_doc_16.cbor', import.meta.url));
const VERIFY = 'P-384 verify, ready key (the unit)';

/** The 97-byte point 04‖X‖Y that ends a P-384 SubjectPublicKeyInfo, as a JWK (RFC 7518 §6.2.1). */
function jwkOf(spki: Uint8Array): { kty: 'EC'; crv: 'P-384'; x: string; y: string } {
  const point = Buffer.from(spki.subarray(spki.length - 97));
  return { kty: 'EC', crv: 'P-384', x: point.subarray(1, 49).toString('base64url'), y: point.subarray(49).toString('base64url') };
}

const scenario: Scenario = {
  description: 'the steps of a cold attestation verification, one by one, also in P-384 verifies',
  run({ quick }) {
    const doc = new Uint8Array(readFileSync(DOC));
    const parsed = parseAttestation(doc);
    const rootKey = ([...trustAnchors(undefined).values()][0] as ParsedCertificate).publicKey();
    // Regional, zonal, instance CA and leaf: the certificates a cold verification reads.
    const ders = [...parsed.cabundle.slice(1), parsed.certificate].map((der) => Buffer.from(der));
    const certs = ders.map((der) => new ParsedCertificate(new Uint8Array(der)));
    const spkis = certs.map((cert) => Buffer.from(cert.spki));
    const pems = spkis.map((spki) => createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }) as string);
    const nodeCerts = ders.map((der) => new X509Certificate(der));
    const leaf = certs[3] as ParsedCertificate;
    const leafDer = ders[3] as Buffer;
    const leafKey = leaf.publicKey();
    const issuerKey = (certs[2] as ParsedCertificate).publicKey();
    const toVerify = sigStructure(parsed.cose);
    const signature = parsed.cose.signature;
    const cose = (key: KeyObject): boolean => verify('sha384', toVerify, { key, dsaEncoding: 'ieee-p1363' }, signature);
    /** The signature work of a cold verification: four links from the pinned root's key, then the COSE. */
    const chainCrypto = (link: (index: number, issuer: KeyObject) => KeyObject): boolean => {
      let key = rootKey;
      for (let index = 0; index < 4; index += 1) key = link(index, key);
      return cose(key);
    };
    const viaTbs = (importKey: (index: number) => KeyObject) => (index: number, issuer: KeyObject): KeyObject => {
      const cert = certs[index] as ParsedCertificate;
      if (!verify('sha384', cert.tbs, issuer, cert.signature)) throw new Error(`link ${index} does not verify`);
      return importKey(index);
    };
    const viaDer = viaTbs((index) => createPublicKey({ key: spkis[index] as Buffer, format: 'der', type: 'spki' }));
    const viaPem = viaTbs((index) => createPublicKey(pems[index] as string));
    const viaNode = (index: number, issuer: KeyObject): KeyObject => {
      const cert = new X509Certificate(ders[index] as Buffer);
      if (!cert.verify(issuer)) throw new Error(`link ${index} does not verify`);
      return cert.publicKey;
    };

    // Correctness first: every variant must accept the real chain and document.
    for (const link of [viaDer, viaPem, viaNode]) if (!chainCrypto(link)) throw new Error('COSE signature does not verify');
    if (!(nodeCerts[3] as X509Certificate).verify(issuerKey)) throw new Error('X509Certificate#verify refuses the leaf');
    if (!cose(createPublicKey({ key: jwkOf(leaf.spki), format: 'jwk' }))) throw new Error('the JWK-imported key does not verify');

    const result = interleave(
      {
        [VERIFY]: () => {
          cose(leafKey);
        },
        'COSE + payload parse': () => {
          parseAttestation(doc);
        },
        'SHA-256 of a certificate': () => {
          hash('sha256', leafDer, 'hex');
        },
        'X.509 read: ours (ParsedCertificate)': () => {
          new ParsedCertificate(new Uint8Array(leafDer));
        },
        'X.509 read: @peculiar/x509': () => {
          new peculiar.X509Certificate(leafDer);
        },
        'X.509 read: node X509Certificate': () => {
          new X509Certificate(leafDer);
        },
        'key import: SPKI DER': () => {
          createPublicKey({ key: spkis[3] as Buffer, format: 'der', type: 'spki' });
        },
        'key import: SPKI PEM': () => {
          createPublicKey(pems[3] as string);
        },
        'key import: JWK of the point': () => {
          createPublicKey({ key: jwkOf(leaf.spki), format: 'jwk' });
        },
        'key import: X509Certificate + .publicKey': () => {
          void new X509Certificate(leafDer).publicKey;
        },
        'cert signature: crypto.verify over TBS': () => {
          verify('sha384', leaf.tbs, issuerKey, leaf.signature);
        },
        'cert signature: X509Certificate#verify': () => {
          (nodeCerts[3] as X509Certificate).verify(issuerKey);
        },
        'new key: PEM import + first verify': () => {
          cose(createPublicKey(pems[3] as string));
        },
        '4 links + COSE: DER import': () => {
          chainCrypto(viaDer);
        },
        '4 links + COSE: PEM import': () => {
          chainCrypto(viaPem);
        },
        '4 links + COSE: X509Certificate': () => {
          chainCrypto(viaNode);
        },
        'verifyAttestation, all new': () => {
          verifyAttestation(doc, { at: 'document', anyPcrs: true, cache: false });
        },
      },
      quick ? { rounds: 2, sliceMs: 50, warmupMs: 50, clock: 'cpu' } : { rounds: 7, sliceMs: 100, warmupMs: 100, clock: 'cpu' },
    );
    const unit = result.perRound[VERIFY] as number[];
    const figures: BenchFigure[] = Object.entries(result.perRound)
      .filter(([name]) => name !== VERIFY)
      .map(([name, rates]) => {
        const samples = rates.map((rate, round) => (unit[round] as number) / rate);
        return { name: `≈ ${name}`, median: median(samples), range: [Math.min(...samples), Math.max(...samples)], unit: 'verifies', samples };
      });
    return { rows: result.rows, figures, checks: [], info: { document: 'real_doc_16.cbor', node: process.version, openssl: process.versions.openssl, perRound: result.perRound } };
  },
};

export default scenario;
