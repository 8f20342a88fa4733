/**
 * Simulated documents against the real ones in test/vectors/attestation: same bytes-level
 * structure (docs/formats.md sections 0, 1.1, 1.3), and a signature that verifies independently.
 */
import { X509Certificate, createHash, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../shared/cbor.js';
import { LIFETIME_MS, SimPki } from '../../sim/pki/index.js';
import { ES384_PROTECTED_HEADER, sigStructure } from '../../sim/nsm/document.js';
import { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { coseParts, documentShape, readHead, type DocumentShape } from './cbor-shape.js';
import { expectedDocs, realDoc } from './vectors.js';

type Payload = Map<string, unknown>;

function payloadOf(doc: Uint8Array): Payload {
  return decodeCbor(coseParts(doc).payload) as Payload;
}

/** The shape without what legitimately differs: certificate lengths, hence the payload length. */
function comparable(shape: DocumentShape): Omit<DocumentShape, 'certificateLengths'> {
  const { certificateLengths: _lengths, envelope, ...rest } = shape;
  return { ...rest, envelope: envelope.map((head, i) => (i === 3 ? head.replace(/\(\d+\)/, '') : head)) };
}

/** ES384 over the RFC 8152 Sig_structure, with node:crypto and the leaf of the document. */
function signatureVerifies(doc: Uint8Array): boolean {
  const { protectedHeader, payload, signature } = coseParts(doc);
  const leaf = new X509Certificate((payloadOf(doc).get('certificate') as Uint8Array));
  return verify('sha384', sigStructure(protectedHeader, payload), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
}

const optional = (value: unknown): Uint8Array | undefined => (value === null ? undefined : (value as Uint8Array));

describe('simulated documents have the structure of real Nitro documents', () => {
  const docs = expectedDocs();
  // One simulated twin per real document: same time, module id, PCRs, optional fields and map
  // form; only the keys, certificates and signature are the simulator's own.
  const twins = new Map<string, Uint8Array>();

  beforeAll(async () => {
    for (const expected of docs) {
      const real = payloadOf(realDoc(expected.file));
      const timestamp = expected.timestamp_ms;
      const pki = await SimPki.createInMemory(timestamp - 3_600_000);
      const pcrs = Object.fromEntries([...(real.get('pcrs') as Map<number, Uint8Array>)].map(([i, v]) => [i, v]));
      const nsm = new SimulatedNsm({
        pki,
        pcrs,
        moduleId: expected.module_id,
        now: () => timestamp,
        silent: true,
        payloadMap: expected.payload_map === 'indefinite-length' ? 'indefinite' : 'definite',
      });
      twins.set(
        expected.file,
        await nsm.attest({
          userData: optional(real.get('user_data')),
          nonce: optional(real.get('nonce')),
          publicKey: optional(real.get('public_key')),
        }),
      );
    }
  });

  it('covers all 13 real documents, both payload map forms', () => {
    expect(twins.size).toBe(13);
    expect(new Set(docs.map((d) => d.payload_map))).toEqual(new Set(['definite-length', 'indefinite-length']));
  });

  it('matches each real document head by head: envelope, protected header, keys and order, types, PCRs, cabundle', () => {
    for (const expected of docs) {
      const real = documentShape(realDoc(expected.file));
      const sim = documentShape(twins.get(expected.file) as Uint8Array);
      expect(comparable(sim), expected.file).toEqual(comparable(real));
    }
  });

  it('has the fixed parts AWS documents have (docs/formats.md 1.1 and 1.3)', () => {
    const shape = documentShape(twins.get('real_doc_16.cbor') as Uint8Array);
    expect(shape.envelope).toEqual(['array(4)', 'bstr(4)', 'map(0)', expect.stringMatching(/^bstr\(\d+\)$/), 'bstr(96)']);
    expect(shape.protectedHex).toBe(Buffer.from(ES384_PROTECTED_HEADER).toString('hex'));
    expect(shape.protectedHex).toBe('a1013822');
    expect(shape.payloadMap).toBe('map(*)');
    expect(shape.keys).toEqual(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);
    expect(shape.values).toMatchObject({ module_id: 'text(39)', digest: 'text(6)', timestamp: 'uint/27', pcrs: 'map(16)', cabundle: 'array(4)' });
    expect(shape.pcrs).toEqual(Array.from({ length: 16 }, (_, i) => `uint/${i}:bstr(48)`));
    expect(shape.certificateLengths).toHaveLength(5);
    for (const length of shape.certificateLengths) {
      expect(length).toBeGreaterThan(0);
      expect(length).toBeLessThanOrEqual(1024);
    }
    const legacy = documentShape(twins.get('real_doc_1.cbor') as Uint8Array);
    expect(legacy.payloadMap).toBe('map(9)');
  });

  it('keeps an empty public_key as an empty bstr and absent fields as null, like real documents', () => {
    const shape = documentShape(twins.get('real_doc_1.cbor') as Uint8Array);
    expect(shape.values.public_key).toBe('bstr(0)');
    expect(documentShape(twins.get('real_doc_10.cbor') as Uint8Array).values).toMatchObject({ public_key: 'null', user_data: 'null', nonce: 'null' });
  });

  it('is untagged, and the timestamp is a CBOR uint64 equal to the clock', () => {
    const doc = twins.get('real_doc_18.cbor') as Uint8Array;
    expect(doc[0]).toBe(0x84);
    // 84 44 a1013822 a0, then the payload bstr with a 2-byte length (0x59), as in every real document.
    expect(Buffer.from(doc.subarray(0, 8)).toString('hex')).toBe('8444a1013822a059');
    for (const expected of docs) expect(realDoc(expected.file)[7], expected.file).toBe(0x59);
    const timestamp = payloadOf(doc).get('timestamp');
    expect(timestamp).toBe(BigInt(docs.find((d) => d.file === 'real_doc_18.cbor')?.timestamp_ms as number));
  });

  it('has a leaf valid 3:00:03 around the timestamp, like real leaves (3:00:00 or 3:00:03)', () => {
    for (const expected of docs) {
      const realWindow = Date.parse(expected.leaf_not_after) - Date.parse(expected.leaf_not_before);
      expect([LIFETIME_MS.leaf, LIFETIME_MS.leaf + 3000]).toContain(realWindow);
      const leaf = new X509Certificate(payloadOf(twins.get(expected.file) as Uint8Array).get('certificate') as Uint8Array);
      const [from, to] = [Date.parse(leaf.validFrom), Date.parse(leaf.validTo)];
      expect(to - from).toBe(LIFETIME_MS.leaf + 3000);
      expect(from).toBeLessThanOrEqual(expected.timestamp_ms);
      expect(to).toBeGreaterThan(expected.timestamp_ms);
    }
  });

  it('signs the RFC 8152 Sig_structure: the routine verifies real_doc_1 and every simulated twin', () => {
    const real = realDoc('real_doc_1.cbor');
    const { protectedHeader, payload } = coseParts(real);
    const toBeSigned = sigStructure(protectedHeader, payload);
    // docs/formats.md section 1.2 test vector.
    expect(Buffer.from(toBeSigned.subarray(0, 22)).toString('hex')).toBe('846a5369676e61747572653144a101382240591113a9');
    expect(createHash('sha384').update(toBeSigned).digest('hex')).toBe(
      'bbc02acb6f947795c50ff9bc27da2c3bbee714029599d7d5a0a187909edda718b66accb42862f9fe9d8fdd39bfc47ec7',
    );
    expect(signatureVerifies(real)).toBe(true);
    for (const [file, twin] of twins) expect(signatureVerifies(twin), file).toBe(true);
    const tampered = Uint8Array.from(twins.get('real_doc_16.cbor') as Uint8Array);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    expect(signatureVerifies(tampered)).toBe(false);
  });

  it('reads as a map of exactly nine entries whatever the map form', () => {
    for (const twin of twins.values()) {
      const { payload } = coseParts(twin);
      expect(payloadOf(twin).size).toBe(9);
      const head = readHead(payload, 0);
      expect([9n, null]).toContain(head.argument);
    }
  });
});
