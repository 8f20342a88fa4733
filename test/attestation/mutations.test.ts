// Mutation matrix over real Nitro documents: each class of change is rejected with its exact code.
// Order of checks (verify.ts): malformed → chain (links, CA rules, validity) → signature → policy.
// In-place flips inside a field keep the CBOR valid, so the first failing check is the field's:
// certificate bytes → CHAIN, signed payload content → SIGNATURE, schema text → MALFORMED.
// Re-encoded payloads break the signature, so they report the structural or chain fault first.
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainCache, parseAttestation, verifyAttestation, type ParsedAttestation, type VerifyOptions } from '../../shared/attestation/index.js';
import {
  buildCose,
  buildChain,
  catchError,
  codeOf,
  concat,
  encodePayload,
  flipByte,
  loadDoc,
  nitroSpecs,
  offsetIn,
  payloadEntries,
  setEntry,
  signedDoc,
  withPayload,
  type SyntheticCert,
} from './helpers.js';

const DOCS = ['real_doc_2.cbor', 'real_doc_12.cbor', 'real_doc_16.cbor'];

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle), from);
}

let other: SyntheticCert[];
beforeAll(async () => {
  other = await buildChain(nitroSpecs());
});

for (const file of DOCS) {
  describe(`mutations of ${file}`, () => {
    const doc = loadDoc(file);
    const parsed = parseAttestation(doc);
    // A fixed time (the document's own) so that changing the timestamp field moves nothing else.
    const cache = new ChainCache();
    const options: VerifyOptions = { at: parsed.timestamp, anyPcrs: true, allowDebug: true, cache };
    const verify = (bytes: Uint8Array, extra: Partial<VerifyOptions> = {}) => verifyAttestation(bytes, { ...options, ...extra });
    const code = (bytes: Uint8Array, extra: Partial<VerifyOptions> = {}) => codeOf(() => verify(bytes, extra));
    const reencoded = (entries: ReturnType<typeof payloadEntries>, indefinite = parsed.cose.payload[0] === 0xbf) => withPayload(doc, encodePayload(entries, indefinite));

    it('the unmodified document verifies, also wrapped in tag 18', () => {
      expect(verify(doc).moduleId).toBe(parsed.moduleId);
      expect(verify(concat(Uint8Array.of(0xd2), doc)).moduleId).toBe(parsed.moduleId);
    });

    it('re-encoding the payload unchanged gives back the exact bytes (the builders are faithful)', () => {
      expect(reencoded(payloadEntries(parsed))).toEqual(doc);
    });

    it('every signature byte flipped → SIGNATURE', () => {
      const at = offsetIn(doc, parsed.cose.signature);
      for (let i = 0; i < 96; i += 1) expect(code(flipByte(doc, at + i)), `signature byte ${i}`).toBe('ERR_ATTESTATION_SIGNATURE');
    });

    it('every byte of the leaf certificate and of cabundle[0] flipped → CHAIN', () => {
      for (const der of [parsed.certificate, parsed.cabundle[0]!]) {
        const at = offsetIn(doc, der);
        for (let i = 0; i < der.length; i += 1) expect(code(flipByte(doc, at + i)), `byte ${i}`).toBe('ERR_ATTESTATION_CHAIN');
      }
    });

    it('bytes of each intermediate flipped (every 7th) → CHAIN', () => {
      for (const der of parsed.cabundle.slice(1)) {
        const at = offsetIn(doc, der);
        for (let i = 0; i < der.length; i += 7) expect(code(flipByte(doc, at + i)), `byte ${i}`).toBe('ERR_ATTESTATION_CHAIN');
      }
    });

    it('a byte of each PCR, and every byte of PCR0, flipped → SIGNATURE', () => {
      for (const [index, value] of parsed.pcrs) expect(code(flipByte(doc, offsetIn(doc, value) + 17)), `PCR${index}`).toBe('ERR_ATTESTATION_SIGNATURE');
      const pcr0 = offsetIn(doc, parsed.pcrs.get(0)!);
      for (let i = 0; i < 48; i += 1) expect(code(flipByte(doc, pcr0 + i))).toBe('ERR_ATTESTATION_SIGNATURE');
    });

    it('bytes of public_key, user_data and nonce (when present; every 3rd) flipped → SIGNATURE', () => {
      for (const field of [parsed.publicKey, parsed.userData, parsed.nonce]) {
        if (field === null) continue;
        const at = offsetIn(doc, field);
        for (let i = 0; i < field.length; i += 3) expect(code(flipByte(doc, at + i))).toBe('ERR_ATTESTATION_SIGNATURE');
      }
    });

    it('every module_id byte flipped (stays ASCII) → SIGNATURE', () => {
      const at = indexOfBytes(doc, Buffer.from(parsed.moduleId));
      expect(at).toBeGreaterThan(0);
      for (let i = 0; i < parsed.moduleId.length; i += 1) expect(code(flipByte(doc, at + i))).toBe('ERR_ATTESTATION_SIGNATURE');
    });

    it('timestamp bytes flipped: the top byte leaves the safe range → MALFORMED, the others → SIGNATURE', () => {
      const at = indexOfBytes(doc, Buffer.from('timestamp')) + 'timestamp'.length;
      expect(doc[at]).toBe(0x1b);
      expect(code(flipByte(doc, at + 1))).toBe('ERR_ATTESTATION_MALFORMED');
      for (let i = 2; i <= 8; i += 1) expect(code(flipByte(doc, at + i)), `timestamp byte ${i - 1}`).toBe('ERR_ATTESTATION_SIGNATURE');
    });

    it('digest text and every payload key byte flipped → MALFORMED', () => {
      const digest = indexOfBytes(doc, Buffer.from('SHA384'));
      for (let i = 0; i < 6; i += 1) expect(code(flipByte(doc, digest + i))).toBe('ERR_ATTESTATION_MALFORMED');
      const payloadStart = offsetIn(doc, parsed.cose.payload);
      for (const key of ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']) {
        const at = indexOfBytes(doc, Buffer.from(key), payloadStart);
        for (let i = 0; i < key.length; i += 1) expect(code(flipByte(doc, at + i)), `${key}[${i}]`).toBe('ERR_ATTESTATION_MALFORMED');
      }
    });

    it('envelope bytes flipped (array head, protected header, unprotected map, payload head) → MALFORMED', () => {
      const payloadStart = offsetIn(doc, parsed.cose.payload);
      for (let i = 0; i < payloadStart; i += 1) expect(code(flipByte(doc, i)), `envelope byte ${i}`).toBe('ERR_ATTESTATION_MALFORMED');
    });

    it('wrong alg or extra headers → MALFORMED', () => {
      const rebuild = (protectedHeader: Uint8Array, unprotected?: Uint8Array) =>
        buildCose({ protectedHeader, payload: parsed.cose.payload, signature: parsed.cose.signature, ...(unprotected ? { unprotected } : {}) });
      expect(code(rebuild(Uint8Array.of(0xa1, 0x01, 0x26)))).toBe('ERR_ATTESTATION_MALFORMED'); // ES256
      expect(code(rebuild(Uint8Array.of(0xa1, 0x01, 0x38, 0x23)))).toBe('ERR_ATTESTATION_MALFORMED'); // ES512
      expect(code(rebuild(Uint8Array.of(0xa2, 0x01, 0x38, 0x22, 0x04, 0x40)))).toBe('ERR_ATTESTATION_MALFORMED'); // + kid
      expect(code(rebuild(new Uint8Array(0)))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(rebuild(parsed.cose.protectedHeader, Uint8Array.of(0xa1, 0x01, 0x38, 0x22)))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(rebuild(parsed.cose.protectedHeader, Uint8Array.of(0xbf, 0xff)))).toBe('ERR_ATTESTATION_MALFORMED');
    });

    it('a changed PCR (re-encoded) → SIGNATURE; a wrong expected PCR on the real one → PCR_MISMATCH', () => {
      const pcrs = new Map(parsed.pcrs);
      pcrs.set(4, new Uint8Array(48).fill(0x44));
      expect(code(reencoded(setEntry(payloadEntries(parsed), 'pcrs', pcrs)))).toBe('ERR_ATTESTATION_SIGNATURE');
      expect(code(doc, { anyPcrs: false, expectedPcrs: { 4: '44'.repeat(48) } })).toBe('ERR_PCR_MISMATCH');
    });

    it('extra, missing, duplicated or oversized payload entries (re-encoded) → MALFORMED', () => {
      const entries = payloadEntries(parsed);
      expect(code(reencoded([...entries, ['extra', null]]))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded([...entries, ['extra', null]], true))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded(entries.slice(0, -1)))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded(entries.slice(0, -1), true))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded([...entries.slice(0, -1), entries[7]!]))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded(setEntry(entries, 'user_data', new Uint8Array(1025))))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded(setEntry(entries, 'nonce', new Uint8Array(1025))))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(reencoded(setEntry(entries, 'public_key', new Uint8Array(1025))))).toBe('ERR_ATTESTATION_MALFORMED');
    });

    it('the same fields within limits but changed (re-encoded) → SIGNATURE', () => {
      const entries = payloadEntries(parsed);
      expect(code(reencoded(setEntry(entries, 'user_data', new Uint8Array(1024))))).toBe('ERR_ATTESTATION_SIGNATURE');
      expect(code(reencoded(setEntry(entries, 'nonce', new Uint8Array([1]))))).toBe('ERR_ATTESTATION_SIGNATURE');
      expect(code(reencoded(entries, parsed.cose.payload[0] !== 0xbf))).toBe('ERR_ATTESTATION_SIGNATURE'); // other map form
    });

    it('cabundle entries dropped, reordered, duplicated → CHAIN', () => {
      const cab = [...parsed.cabundle];
      const withCabundle = (list: Uint8Array[]) => reencoded(setEntry(payloadEntries(parsed), 'cabundle', list));
      for (let i = 0; i < cab.length; i += 1) {
        expect(code(withCabundle(cab.filter((_, j) => j !== i))), `drop ${i}`).toBe('ERR_ATTESTATION_CHAIN');
        expect(code(withCabundle([...cab.slice(0, i + 1), cab[i]!, ...cab.slice(i + 1)])), `duplicate ${i}`).toBe('ERR_ATTESTATION_CHAIN');
      }
      expect(code(withCabundle([cab[0]!, cab[2]!, cab[1]!, ...cab.slice(3)]))).toBe('ERR_ATTESTATION_CHAIN');
      expect(code(withCabundle([...cab].reverse()))).toBe('ERR_ATTESTATION_CHAIN');
      expect(code(withCabundle([...cab, parsed.certificate]))).toBe('ERR_ATTESTATION_CHAIN');
    });

    it('the root replaced → CHAIN, under the default roots and under the replacement as root', () => {
      const cab = [other[0]!.der, ...parsed.cabundle.slice(1)];
      const replaced = reencoded(setEntry(payloadEntries(parsed), 'cabundle', cab));
      expect(catchError(() => verify(replaced)).message).toContain('cabundle[0] is not a trusted root');
      const error = catchError(() => verify(replaced, { roots: [other[0]!.pem] }));
      expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
      expect(error.message).toContain('cabundle[1] is not issued by root');
      // The genuine document under someone else's root only:
      expect(code(doc, { roots: [other[0]!.pem] })).toBe('ERR_ATTESTATION_CHAIN');
    });

    it('the leaf swapped for a synthetic leaf → CHAIN', () => {
      expect(code(reencoded(setEntry(payloadEntries(parsed), 'certificate', other[4]!.der)))).toBe('ERR_ATTESTATION_CHAIN');
    });

    it('trailing bytes after the document → MALFORMED', () => {
      expect(code(concat(doc, Uint8Array.of(0x00)))).toBe('ERR_ATTESTATION_MALFORMED');
      expect(code(concat(doc, doc))).toBe('ERR_ATTESTATION_MALFORMED');
    });
  });
}

describe('leaf swapped between real documents', () => {
  const load = (file: string): [Uint8Array, ParsedAttestation] => {
    const doc = loadDoc(file);
    return [doc, parseAttestation(doc)];
  };

  it("another instance's leaf → CHAIN (its issuer is another instance CA)", () => {
    const [doc, parsed] = load('real_doc_16.cbor');
    const [, donor] = load('real_doc_2.cbor');
    const swapped = withPayload(doc, encodePayload(setEntry(payloadEntries(parsed), 'certificate', donor.certificate), true));
    const error = catchError(() => verifyAttestation(swapped, { at: parsed.timestamp, anyPcrs: true, allowDebug: true, cache: false }));
    expect(error.code).toBe('ERR_ATTESTATION_CHAIN');
    expect(error.message).toContain('leaf certificate is not issued by cabundle[3]');
  });

  it("another document's leaf together with its instance CA (real_doc_18 into real_doc_16) → SIGNATURE: the chain is fine, the key is not", () => {
    const [doc, parsed] = load('real_doc_16.cbor');
    const [, donor] = load('real_doc_18.cbor');
    expect(donor.cabundle.slice(0, 3)).toEqual(parsed.cabundle.slice(0, 3));
    const entries = setEntry(setEntry(payloadEntries(parsed), 'certificate', donor.certificate), 'cabundle', [...donor.cabundle]);
    const swapped = withPayload(doc, encodePayload(entries, true));
    expect(codeOf(() => verifyAttestation(swapped, { at: donor.timestamp, anyPcrs: true, cache: false }))).toBe('ERR_ATTESTATION_SIGNATURE');
  });

  it('a sibling leaf under the same instance CA (synthetic) → SIGNATURE', async () => {
    const sibling = (await buildChain([nitroSpecs()[4]!], other[3]))[0]!;
    const doc = signedDoc(other);
    const parsed = parseAttestation(doc);
    const swapped = withPayload(doc, encodePayload(setEntry(payloadEntries(parsed), 'certificate', sibling.der)));
    const options: VerifyOptions = { at: parsed.timestamp, roots: [other[0]!.pem], anyPcrs: true, cache: false };
    expect(verifyAttestation(doc, options).moduleId).toBe(parsed.moduleId);
    expect(codeOf(() => verifyAttestation(swapped, options))).toBe('ERR_ATTESTATION_SIGNATURE');
  });
});

describe('truncation', () => {
  it('real_doc_16 truncated at every byte offset → MALFORMED', () => {
    const doc = loadDoc('real_doc_16.cbor');
    for (let length = 0; length < doc.length; length += 1) {
      expect(codeOf(() => verifyAttestation(doc.subarray(0, length), { at: 'document', anyPcrs: true })), `length ${length}`).toBe('ERR_ATTESTATION_MALFORMED');
    }
  });

  it('real_doc_16 payload truncated at every offset, in a well-formed envelope → MALFORMED', () => {
    const doc = loadDoc('real_doc_16.cbor');
    const parsed = parseAttestation(doc);
    for (let length = 0; length < parsed.cose.payload.length; length += 7) {
      const shortened = withPayload(doc, parsed.cose.payload.subarray(0, length));
      expect(codeOf(() => verifyAttestation(shortened, { at: 'document', anyPcrs: true })), `payload length ${length}`).toBe('ERR_ATTESTATION_MALFORMED');
    }
  });
});
