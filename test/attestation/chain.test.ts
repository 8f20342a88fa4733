// Path validation rules and the link cache, on synthetic Nitro-shaped chains (P-384, same
// extensions as AWS's) where each case breaks exactly one rule.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainCache, verifyAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import { buildChain, catchError, codeOf, DAY_MS, nitroSpecs, signedDoc, standardSyntheticChain, T0, type CertSpec, type SyntheticCert } from './helpers.js';

let chain: SyntheticCert[];
beforeAll(async () => {
  chain = await standardSyntheticChain();
});

function options(roots: SyntheticCert[], extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { at: T0, roots: [roots[0]!.pem], anyPcrs: true, cache: false, ...extra };
}

/** A chain built from the standard specs with one certificate's spec changed. */
async function variant(position: number, change: Partial<CertSpec>): Promise<SyntheticCert[]> {
  const specs = nitroSpecs();
  specs[position] = { ...specs[position]!, ...change };
  return buildChain(specs);
}

describe('synthetic chain: the valid case', () => {
  it('verifies under its own root and names all five certificates, leaf first', () => {
    const result = verifyAttestation(signedDoc(chain), options(chain));
    expect(result.certificates.map((c) => c.subject)).toEqual(nitroSpecs().reverse().map((s) => s.name));
  });

  it('is refused under the default roots (AWS Root-G1): the chain must end at a pinned root', () => {
    const error = catchError(() => verifyAttestation(signedDoc(chain), { at: T0, anyPcrs: true, cache: false }));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toContain('cabundle[0] is not a trusted root');
  });

  it('accepts the root as DER bytes too', () => {
    expect(verifyAttestation(signedDoc(chain), options(chain, { roots: [chain[0]!.der] })).moduleId).toMatch(/^i-/);
  });
});

describe('CA and leaf rules (each names the failing link)', () => {
  const cases: [string, number, Partial<CertSpec>, string][] = [
    ['leaf is a CA', 4, { ca: true }, 'leaf certificate must not be a CA'],
    ['leaf without digitalSignature', 4, { usages: x509.KeyUsageFlags.nonRepudiation }, 'leaf certificate lacks keyUsage digitalSignature'],
    ['leaf without keyUsage', 4, { usages: undefined }, 'leaf certificate lacks keyUsage digitalSignature'],
    ['instance CA without keyCertSign', 3, { usages: x509.KeyUsageFlags.digitalSignature }, 'cabundle[3] lacks keyUsage keyCertSign'],
    ['instance CA without basicConstraints', 3, { noBasicConstraints: true }, 'cabundle[3] is not a CA'],
    ['zonal CA marked cA=false', 2, { ca: false, pathLength: undefined }, 'cabundle[2] is not a CA'],
    ['regional pathLen 1 with two CAs below', 1, { pathLength: 1 }, 'cabundle[1] allows 1 CA certificate(s) below it, the chain has 2'],
    ['instance pathLen would need to be ≥ 0: zonal pathLen 0', 2, { pathLength: 0 }, 'cabundle[2] allows 0 CA certificate(s) below it, the chain has 1'],
    ['unknown critical extension on the leaf', 4, { extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([5, 0]))] }, 'leaf certificate has an unsupported critical extension (1.3.6.1.4.1.99999.1)'],
    ['a P-256 key on the instance CA', 3, { curve: 'P-256' }, 'cabundle[3] is not a valid Nitro X.509 certificate (public key is not an uncompressed P-384 point)'],
  ];
  for (const [name, position, change, message] of cases) {
    it(name, async () => {
      const broken = await variant(position, change);
      const error = catchError(() => verifyAttestation(signedDoc(broken), options(broken)));
      expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
      expect(error.message).toContain(message);
    });
  }

  // A P-384 SubjectPublicKeyInfo (RFC 5480 §2) whose point (x = 1, y = 1) is not on the curve:
  // it passes the certificate's key-form check, and must still fail where the key is imported.
  const OFF_CURVE_SPKI = Uint8Array.from(Buffer.concat([Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'), Buffer.alloc(47), Buffer.of(1), Buffer.alloc(47), Buffer.of(1)]));
  it('an instance CA whose key is not a point of P-384 signs nothing', async () => {
    const broken = await variant(3, { subjectPublicKeyInfo: OFF_CURVE_SPKI });
    const error = catchError(() => verifyAttestation(signedDoc(broken), options(broken)));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toBe('cabundle[3] public key is not a valid P-384 point');
  });

  it('a leaf whose key is not a point of P-384 is refused before the COSE signature', async () => {
    const broken = await variant(4, { subjectPublicKeyInfo: OFF_CURVE_SPKI });
    const error = catchError(() => verifyAttestation(signedDoc(broken), options(broken)));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toBe('leaf certificate public key is not a valid P-384 point');
  });

  it('an unknown non-critical extension is ignored', async () => {
    const ok = await variant(4, { extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', false, new Uint8Array([5, 0]))] });
    expect(verifyAttestation(signedDoc(ok), options(ok)).certificates).toHaveLength(5);
  });
});

describe('validity of every certificate at the verification time', () => {
  it('an expired instance CA is named even while the leaf is valid', async () => {
    const broken = await variant(3, { notAfter: T0 - 1000 });
    const error = catchError(() => verifyAttestation(signedDoc(broken), options(broken)));
    expect(error.code).toBe('ERR_ATTESTATION_EXPIRED');
    expect(error.message).toContain('cabundle[3] expired at');
  });

  it('a root that is not yet valid is named', async () => {
    const broken = await variant(0, { notBefore: T0 + 1000 });
    const error = catchError(() => verifyAttestation(signedDoc(broken), options(broken)));
    expect(error.code).toBe('ERR_ATTESTATION_NOT_YET_VALID');
    expect(error.message).toContain('root (cabundle[0]) is not valid before');
  });

  it('bounds are inclusive (RFC 5280 §4.1.2.5)', () => {
    const leaf = nitroSpecs()[4]!;
    const doc = signedDoc(chain);
    expect(verifyAttestation(doc, options(chain, { at: leaf.notBefore })).timestamp).toBe(T0);
    expect(verifyAttestation(doc, options(chain, { at: leaf.notAfter })).timestamp).toBe(T0);
    expect(codeOf(() => verifyAttestation(doc, options(chain, { at: leaf.notAfter + 1 })))).toBe('ERR_ATTESTATION_EXPIRED');
    expect(codeOf(() => verifyAttestation(doc, options(chain, { at: leaf.notBefore - 1 })))).toBe('ERR_ATTESTATION_NOT_YET_VALID');
  });
});

describe('the chain cache never lets a document skip a failing check', () => {
  it('a warm cache still applies the verification time', () => {
    const cache = new ChainCache();
    const doc = signedDoc(chain);
    verifyAttestation(doc, options(chain, { cache }));
    expect(cache.size).toBe(4);
    expect(codeOf(() => verifyAttestation(doc, options(chain, { cache, at: T0 + DAY_MS })))).toBe('ERR_ATTESTATION_EXPIRED');
    expect(codeOf(() => verifyAttestation(doc, options(chain, { cache, at: T0 - 11 * DAY_MS })))).toBe('ERR_ATTESTATION_NOT_YET_VALID');
  });

  it('a warm cache still applies the root set', () => {
    const cache = new ChainCache();
    const doc = signedDoc(chain);
    verifyAttestation(doc, options(chain, { cache }));
    expect(codeOf(() => verifyAttestation(doc, { at: T0, anyPcrs: true, cache }))).toBe('ERR_ATTESTATION_CHAIN');
  });

  it('a cached leaf is not trusted under another issuer with the same name', async () => {
    // A second instance CA, validly issued by the same zonal CA, with the same subject as the
    // leaf's real issuer but another key. The leaf's link to the real issuer is cached; under the
    // impostor the name check passes and the signature check must run again, and fail.
    const impostor = (await buildChain([nitroSpecs()[3]!], chain[2]))[0]!;
    const cache = new ChainCache();
    verifyAttestation(signedDoc(chain), options(chain, { cache }));
    const swapped = signedDoc(chain, { cabundle: [chain[0]!.der, chain[1]!.der, chain[2]!.der, impostor.der] });
    const error = catchError(() => verifyAttestation(swapped, options(chain, { cache })));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toBe('signature of cabundle[3] on leaf certificate does not verify');
  });

  it('is bounded, evicting the least recently used certificates', () => {
    const cache = new ChainCache({ maxEntries: 3 });
    const doc = signedDoc(chain);
    verifyAttestation(doc, options(chain, { cache }));
    expect(cache.size).toBe(3);
    expect(verifyAttestation(doc, options(chain, { cache })).certificates).toHaveLength(5);
    expect(cache.size).toBe(3);
    expect(() => new ChainCache({ maxEntries: 0 })).toThrow(RangeError);
  });

  it('cold (no cache) and warm verification give identical results', () => {
    const doc = signedDoc(chain, { nonce: new Uint8Array([1, 2, 3]) });
    const cache = new ChainCache();
    const cold = verifyAttestation(doc, options(chain, { cache: false }));
    verifyAttestation(doc, options(chain, { cache }));
    const warm = verifyAttestation(doc, options(chain, { cache }));
    expect(warm).toEqual(cold);
  });
});

describe('the authority tier: CAs kept apart from per-enclave leaves', () => {
  /** A new enclave under the same instance CA: a fresh leaf key and certificate. */
  async function newLeafUnder(issuers: SyntheticCert[], spec: Partial<CertSpec> = {}): Promise<SyntheticCert[]> {
    const leaf = (await buildChain([{ ...nitroSpecs()[4]!, ...spec }], issuers[issuers.length - 1]))[0]!;
    return [...issuers, leaf];
  }

  it('a new leaf under cached CAs verifies, and the CAs stay cached while leaves come and go', async () => {
    const cache = new ChainCache({ maxEntries: 4 });
    verifyAttestation(signedDoc(chain), options(chain, { cache }));
    expect(cache.authorityCount).toBe(3);
    const second = await newLeafUnder(chain.slice(0, 4));
    const result = verifyAttestation(signedDoc(second), options(second, { cache }));
    expect(result.certificates[0]!.sha256).not.toBe(verifyAttestation(signedDoc(chain), options(chain)).certificates[0]!.sha256);
    // The bound is met by evicting the older leaf, never a CA.
    expect(cache.size).toBe(4);
    expect(cache.authorityCount).toBe(3);
    cache.forgetLeaves();
    expect(cache.size).toBe(3);
    expect(verifyAttestation(signedDoc(second), options(second, { cache })).certificates).toHaveLength(5);
  });

  it('a cached intermediate is still checked for validity at the verification time', async () => {
    // A new instance CA and leaf that outlive the zonal CA: at T0 + 4 days only the cached zonal
    // CA (valid to T0 + 3 days) has expired, and it must be the one reported.
    const longLived = await buildChain(
      [
        { ...nitroSpecs()[3]!, notAfter: T0 + 10 * DAY_MS },
        { ...nitroSpecs()[4]!, notAfter: T0 + 10 * DAY_MS },
      ],
      chain[2],
    );
    const path = [...chain.slice(0, 3), ...longLived];
    const doc = signedDoc(path);
    const cache = new ChainCache();
    verifyAttestation(signedDoc(chain), options(chain, { cache }));
    verifyAttestation(doc, options(path, { cache }));
    const late = T0 + 4 * DAY_MS;
    const warm = catchError(() => verifyAttestation(doc, options(path, { cache, at: late })));
    expect(warm.code).toBe('ERR_ATTESTATION_EXPIRED');
    expect(warm.message).toMatch(/^cabundle\[2\] expired/);
    const cold = catchError(() => verifyAttestation(doc, options(path, { cache: false, at: late })));
    expect(cold.message).toBe(warm.message);
    expect(codeOf(() => verifyAttestation(doc, options(path, { cache, at: T0 - 4 * DAY_MS })))).toBe('ERR_ATTESTATION_NOT_YET_VALID');
  });

  it('a cached intermediate is never reused under a different root, even one with the same name', async () => {
    // Another root with the real root's subject but its own key, trusted by the caller. The
    // regional CA's link to the real root is cached; under the other root its signature must be
    // checked again, and fail.
    const otherRoot = (await buildChain([nitroSpecs()[0]!]))[0]!;
    const cache = new ChainCache();
    verifyAttestation(signedDoc(chain), options(chain, { cache }));
    expect(cache.authorityCount).toBe(3);
    const swapped = signedDoc(chain, { cabundle: [otherRoot.der, chain[1]!.der, chain[2]!.der, chain[3]!.der] });
    const error = catchError(() => verifyAttestation(swapped, { at: T0, roots: [otherRoot.pem], anyPcrs: true, cache }));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toBe('signature of root (cabundle[0]) on cabundle[1] does not verify');
    // And the original root is still required for the original document.
    expect(codeOf(() => verifyAttestation(signedDoc(chain), { at: T0, roots: [otherRoot.pem], anyPcrs: true, cache }))).toBe('ERR_ATTESTATION_CHAIN');
  });
});
