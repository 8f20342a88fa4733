// Payload and envelope structure on correctly signed synthetic documents: what must pass (both
// map forms, tag 18, null and empty values, the 0..1024 field sizes, uint64 timestamps) and what
// must be ERR_ATTESTATION_MALFORMED even though the signature would verify.
import { beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.js';
import { parseAttestation, verifyAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import { buildCose, catchError, codeOf, concat, defaultPcrs, signedDoc, standardSyntheticChain, T0, type PayloadEntries, type SyntheticCert } from './helpers.js';

let chain: SyntheticCert[];
let options: VerifyOptions;
beforeAll(async () => {
  chain = await standardSyntheticChain();
  options = { at: T0, roots: [chain[0]!.pem], anyPcrs: true };
});

const bytes = (length: number, fill = 0xab): Uint8Array => new Uint8Array(length).fill(fill);

function malformedMessage(doc: Uint8Array): string {
  const error = catchError(() => verifyAttestation(doc, options));
  expect(error.code).toBe('ERR_ATTESTATION_MALFORMED');
  return error.message;
}

describe('accepted encodings', () => {
  it('definite (0xa9) and indefinite (0xbf…0xff) payload maps', () => {
    const definite = signedDoc(chain);
    const indefinite = signedDoc(chain, { indefinite: true });
    expect(parseAttestation(definite).cose.payload[0]).toBe(0xa9);
    expect(parseAttestation(indefinite).cose.payload[0]).toBe(0xbf);
    expect(parseAttestation(indefinite).cose.payload.at(-1)).toBe(0xff);
    expect(verifyAttestation(definite, options)).toEqual(verifyAttestation(indefinite, options));
  });

  it('tagged (18) and untagged envelopes', () => {
    const tagged = signedDoc(chain, { tagged: true });
    expect(tagged[0]).toBe(0xd2);
    expect(parseAttestation(tagged).cose.tagged).toBe(true);
    expect(verifyAttestation(tagged, options).timestamp).toBe(T0);
  });

  it('null and empty optional fields both read as null', () => {
    const nulls = verifyAttestation(signedDoc(chain), options);
    const empties = verifyAttestation(signedDoc(chain, { publicKey: bytes(0), userData: bytes(0), nonce: bytes(0) }), options);
    for (const result of [nulls, empties]) {
      expect(result.publicKey).toBeNull();
      expect(result.userData).toBeNull();
      expect(result.nonce).toBeNull();
    }
  });

  it('public_key, user_data and nonce of 1024 bytes each (nsm-check DATA_LEN)', () => {
    const result = verifyAttestation(signedDoc(chain, { publicKey: bytes(1024, 1), userData: bytes(1024, 2), nonce: bytes(1024, 3) }), options);
    expect(result.publicKey).toEqual(bytes(1024, 1));
    expect(result.userData).toEqual(bytes(1024, 2));
    expect(result.nonce).toEqual(bytes(1024, 3));
  });

  it('returned byte fields are copies, not views of the document', () => {
    const doc = signedDoc(chain, { nonce: bytes(8, 7) });
    const result = verifyAttestation(doc, options);
    doc.fill(0);
    expect(result.nonce).toEqual(bytes(8, 7));
  });

  it('a timestamp beyond 2^32 is a uint64 (0x1b) and reads as a number', () => {
    const doc = signedDoc(chain);
    const parsed = parseAttestation(doc);
    expect(typeof parsed.timestamp).toBe('number');
    expect(parsed.timestamp).toBe(T0);
  });

  it('a single PCR is enough, and PCRs need not start at 0', () => {
    const pcrs = new Map([[4, bytes(48, 4)]]);
    const result = verifyAttestation(signedDoc(chain, { pcrs }), { ...options, allowDebug: true });
    expect(result.pcrs).toEqual({ 4: '04'.repeat(48) });
  });
});

describe('refused structures (MALFORMED, checked before chain and signature)', () => {
  const edit = (change: (entries: PayloadEntries) => PayloadEntries) => signedDoc(chain, { edit: change });
  const without = (key: string) => (entries: PayloadEntries) => entries.filter(([k]) => k !== key);

  for (const key of ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']) {
    it(`missing key ${key}, in a definite and an indefinite map`, () => {
      expect(malformedMessage(signedDoc(chain, { edit: without(key) }))).toMatch(/payload/);
      expect(malformedMessage(signedDoc(chain, { edit: without(key), indefinite: true }))).toMatch(/payload/);
    });
  }

  it('an extra key, at the end or in the middle, definite or indefinite', () => {
    const extraAtEnd = (entries: PayloadEntries): PayloadEntries => [...entries, ['extra', 1]];
    expect(malformedMessage(edit(extraAtEnd))).toContain('exactly 9 entries');
    expect(malformedMessage(signedDoc(chain, { edit: extraAtEnd, indefinite: true }))).toContain('unexpected key after nonce');
    expect(malformedMessage(edit((e) => [...e.slice(0, 3), ['extra', 1], ...e.slice(4)]))).toContain("unknown key in place of 'pcrs'");
  });

  it('a duplicated or reordered key', () => {
    expect(malformedMessage(edit((e) => [...e.slice(0, 8), e[7]!]))).toContain("'user_data' is duplicated or out of order");
    expect(malformedMessage(edit((e) => [e[1]!, e[0]!, ...e.slice(2)]))).toContain("'digest' is duplicated or out of order");
  });

  it('oversized public_key, user_data, nonce (1025 bytes)', () => {
    expect(malformedMessage(signedDoc(chain, { publicKey: bytes(1025) }))).toContain('public_key is 1025 bytes');
    expect(malformedMessage(signedDoc(chain, { userData: bytes(1025) }))).toContain('user_data is 1025 bytes');
    expect(malformedMessage(signedDoc(chain, { nonce: bytes(1025) }))).toContain('nonce is 1025 bytes');
  });

  it('oversized or empty certificates and cabundles', () => {
    expect(malformedMessage(signedDoc(chain, { certificate: bytes(LIMITS.certificateMaxBytes + 1) }))).toContain('certificate is 1025 bytes');
    expect(malformedMessage(signedDoc(chain, { certificate: bytes(0) }))).toContain('certificate is 0 bytes');
    expect(malformedMessage(signedDoc(chain, { cabundle: [] }))).toContain('cabundle is empty');
    const nine = Array.from({ length: LIMITS.cabundleMaxEntries + 1 }, () => chain[1]!.der);
    expect(malformedMessage(signedDoc(chain, { cabundle: nine }))).toContain('more than 8 entries');
  });

  it('PCR map rules: count, index range, order, width', () => {
    const many = new Map(Array.from({ length: 33 }, (_, i) => [i, bytes(48)]));
    expect(malformedMessage(signedDoc(chain, { pcrs: many }))).toMatch(/more than 32 PCRs|PCR index outside/);
    expect(malformedMessage(signedDoc(chain, { pcrs: new Map() }))).toContain('pcrs is empty');
    expect(malformedMessage(signedDoc(chain, { pcrs: new Map([[32, bytes(48)]]) }))).toContain('PCR index outside 0..31');
    expect(malformedMessage(signedDoc(chain, { pcrs: new Map([[2, bytes(48)], [1, bytes(48)]]) }))).toContain('PCR 1 is duplicated or out of order');
    expect(malformedMessage(signedDoc(chain, { pcrs: new Map([[0, bytes(32)]]) }))).toContain('PCR0 is 32 bytes, not 48');
    const withBadValue = new Map<number, unknown>(defaultPcrs());
    withBadValue.set(3, 'not bytes');
    expect(malformedMessage(signedDoc(chain, { edit: (e) => e.map(([k, v]) => [k, k === 'pcrs' ? withBadValue : v]) }))).toContain('PCR3 must be a byte string');
  });

  it('module_id, digest and timestamp rules', () => {
    expect(malformedMessage(signedDoc(chain, { moduleId: '' }))).toContain('module_id is empty');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'digest' ? 'SHA256' : v])))).toContain('digest must be "SHA384"');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'timestamp' ? 0 : v])))).toContain('timestamp must be a positive integer');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'timestamp' ? -5 : v])))).toContain('timestamp must be an unsigned integer');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'timestamp' ? 1.5 : v])))).toContain('timestamp must be an unsigned integer, found a simple value');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'timestamp' ? 2n ** 60n : v])))).toContain('timestamp must be a positive integer');
    expect(malformedMessage(edit((e) => e.map(([k, v]) => [k, k === 'user_data' ? 'text' : v])))).toContain('user_data must be a byte string');
  });

  it('a payload that is not a map, and trailing bytes after it', () => {
    const doc = signedDoc(chain);
    const parsed = parseAttestation(doc);
    const rebuild = (payload: Uint8Array): Uint8Array => buildCose({ protectedHeader: parsed.cose.protectedHeader, payload, signature: parsed.cose.signature });
    expect(malformedMessage(rebuild(Uint8Array.of(0x80)))).toContain('payload must be a map');
    expect(malformedMessage(rebuild(concat(parsed.cose.payload, Uint8Array.of(0x00))))).toContain('trailing bytes after the payload map');
  });

  it('a document over the size limit is refused before parsing', () => {
    expect(codeOf(() => verifyAttestation(new Uint8Array(LIMITS.attestationDocumentMaxBytes + 1), options))).toBe('ERR_ATTESTATION_MALFORMED');
  });
});
