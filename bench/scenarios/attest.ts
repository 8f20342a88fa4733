/**
 * Attestation verification throughput on a real document (real_doc_16, 2025, indefinite-length
 * payload map), against the bare P-384 signature check measured alongside:
 * - bare:  crypto.verify ES384 over the document's Sig_structure with a ready KeyObject;
 * - warm:  verifyAttestation with a warm chain cache (the same enclave's leaf): target ≥ 0.8 × bare;
 * - new leaf, known intermediates: verifyAttestation with the cache's leaves dropped before each
 *          call (the CAs of the Region and host cached, as for any new enclave there: the leaf is
 *          read, its key imported, its signature and the COSE signature checked): target ≥ 0.9 × bare / 5;
 * - all new: verifyAttestation with cache: false (every certificate read, every key imported, all
 *          five signatures checked): reported against the same target.
 * Also shown, to explain the cold figure: importing one P-384 SubjectPublicKeyInfo as the verifier
 * does (PEM, certificate.ts), which cold verification does four times (regional, zonal, instance,
 * leaf; the pinned root's key is kept). `npm run bench -- attest-steps` measures every step.
 */
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChainCache, parseAttestation, sigStructure, verifyAttestation } from '../../shared/attestation/index.js';
import { ParsedCertificate } from '../../shared/attestation/certificate.js';
import { interleave, medianRatio, type Scenario } from '../main.js';
import { ratioStats } from '../lib/rounds.js';

const DOC = fileURLToPath(new URL('../../test/vectors/attestation/real_doc_16.cbor', import.meta.url));

const scenario: Scenario = {
  description: 'attestation document verification: cold, warm, and the bare P-384 verify it is measured against',
  run({ quick }) {
    const doc = new Uint8Array(readFileSync(DOC));
    const parsed = parseAttestation(doc);
    const leaf = new ParsedCertificate(new Uint8Array(parsed.certificate));
    const leafKey = leaf.publicKey();
    const toVerify = sigStructure(parsed.cose);
    const signature = parsed.cose.signature;
    const cache = new ChainCache();
    const knownCas = new ChainCache();
    const base = { at: 'document' as const, anyPcrs: true };

    // Correctness first: a benchmark of a failing path measures nothing.
    if (!verify('sha384', toVerify, { key: leafKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('bare verify failed');
    verifyAttestation(doc, { ...base, cache });
    verifyAttestation(doc, { ...base, cache: false });
    verifyAttestation(doc, { ...base, cache: knownCas });
    if (knownCas.authorityCount !== 3) throw new Error('expected the regional, zonal and instance CAs in the authority tier');

    const result = interleave(
      {
        'bare P-384 crypto.verify': () => {
          verify('sha384', toVerify, { key: leafKey, dsaEncoding: 'ieee-p1363' }, signature);
        },
        'warm verifyAttestation (cache)': () => {
          verifyAttestation(doc, { ...base, cache });
        },
        'new leaf, known intermediates': () => {
          knownCas.forgetLeaves();
          verifyAttestation(doc, { ...base, cache: knownCas });
        },
        'all new (cache: false)': () => {
          verifyAttestation(doc, { ...base, cache: false });
        },
      },
      quick ? { rounds: 4, sliceMs: 100, warmupMs: 100 } : { rounds: 15, sliceMs: 250, warmupMs: 300 },
    );
    // Measured on its own afterwards: the KeyObjects it churns out would otherwise be collected
    // during (and billed to) the slices of the cases above.
    const spkiPem = leafKey.export({ format: 'pem', type: 'spki' });
    const keyImport = interleave(
      {
        'P-384 SPKI import (createPublicKey, PEM)': () => {
          createPublicKey(spkiPem);
        },
      },
      quick ? { rounds: 2, sliceMs: 100 } : { rounds: 5, sliceMs: 200 },
    );

    const warm = medianRatio(result, 'warm verifyAttestation (cache)', 'bare P-384 crypto.verify');
    const newLeaf = ratioStats(result, 'new leaf, known intermediates', 'bare P-384 crypto.verify', 5);
    const allNew = ratioStats(result, 'all new (cache: false)', 'bare P-384 crypto.verify', 5);
    return {
      rows: [...result.rows, ...keyImport.rows],
      checks: [
        { name: 'warm / bare', value: warm, target: 0.8, pass: warm >= 0.8, detail: '(median of per-round ratios)' },
        { name: 'cold, new leaf / (bare / 5)', value: newLeaf.median, range: newLeaf.range, target: 0.9, pass: newLeaf.median >= 0.9, detail: '(median of per-round ratios; known intermediates)' },
        { name: 'cold, all new / (bare / 5)', value: allNew.median, range: allNew.range, target: 0.9, pass: allNew.median >= 0.9, detail: '(median of per-round ratios; every certificate new)' },
      ],
      info: { document: 'real_doc_16.cbor', bytes: doc.length, perRound: result.perRound },
    };
  },
};

export default scenario;
