import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnclaveKitError } from '../../shared/errors.js';
import {
  decodeNsmRequest,
  decodeNsmResponse,
  encodeNsmRequest,
  encodeNsmResponse,
  NsmError,
  nsmErrorCodeOf,
  type NsmRequest,
  type NsmResponse,
} from '../../shared/nsm/codec.js';
import { NSM_ERROR_CODES } from '../../shared/nsm/types.js';

// docs/formats.md section 4.2; the vector file's keys name each message.
const examples = JSON.parse(
  readFileSync(new URL('../vectors/nsm/cbor_examples.json', import.meta.url), 'utf8'),
) as Record<string, string>;

const b = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

const requestVectors: [string, NsmRequest][] = [
  ['req DescribePCR{index:3}', { kind: 'DescribePCR', index: 3 }],
  ['req ExtendPCR{index:4,data:[1,2,3]}', { kind: 'ExtendPCR', index: 4, data: b(1, 2, 3) }],
  ['req LockPCR{index:5}', { kind: 'LockPCR', index: 5 }],
  ['req LockPCRs{range:16}', { kind: 'LockPCRs', range: 16 }],
  ['req DescribeNSM', { kind: 'DescribeNSM' }],
  ['req Attestation{user_data:[9,9],nonce:None,public_key:[7]}', { kind: 'Attestation', userData: b(9, 9), nonce: null, publicKey: b(7) }],
  ['req GetRandom', { kind: 'GetRandom' }],
];

const responseVectors: [string, NsmResponse][] = [
  ['resp DescribePCR{lock:true,data:aabb}', { kind: 'DescribePCR', lock: true, data: b(0xaa, 0xbb) }],
  ['resp ExtendPCR{data:[1]}', { kind: 'ExtendPCR', data: b(1) }],
  ['resp LockPCR', { kind: 'LockPCR' }],
  ['resp LockPCRs', { kind: 'LockPCRs' }],
  [
    'resp DescribeNSM',
    { kind: 'DescribeNSM', versionMajor: 1, versionMinor: 2, versionPatch: 3, moduleId: 'i-abc', maxPcrs: 32, lockedPcrs: [0, 1], digest: 'SHA384' },
  ],
  ['resp Attestation{document:d284}', { kind: 'Attestation', document: b(0xd2, 0x84) }],
  ['resp GetRandom{random:040404}', { kind: 'GetRandom', random: b(4, 4, 4) }],
  ['resp Error(InvalidIndex)', { kind: 'Error', code: 'InvalidIndex' }],
];

function expectMalformed(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    expect((error as EnclaveKitError).code).toBe('ERR_NSM_MALFORMED');
    return;
  }
  expect.unreachable('decoder accepted malformed input');
}

describe('NSM codec against cbor_examples.json (serde_cbor bytes)', () => {
  it('covers every request and response example in the vector file', () => {
    const covered = new Set([...requestVectors, ...responseVectors].map(([name]) => name));
    const inFile = Object.keys(examples).filter((k) => k.startsWith('req ') || k.startsWith('resp '));
    expect([...covered].sort()).toEqual(inFile.sort());
  });

  for (const [name, request] of requestVectors) {
    it(`${name}: encodes byte for byte and decodes back`, () => {
      const expected = examples[name]!;
      expect(hex(encodeNsmRequest(request))).toBe(expected);
      expect(decodeNsmRequest(unhex(expected))).toEqual(request);
    });
  }

  for (const [name, response] of responseVectors) {
    it(`${name}: encodes byte for byte and decodes back`, () => {
      const expected = examples[name]!;
      expect(hex(encodeNsmResponse(response))).toBe(expected);
      expect(decodeNsmResponse(unhex(expected))).toEqual(response);
    });
  }
});

describe('NSM codec details', () => {
  it('writes all three attestation keys, null when absent, in declaration order', () => {
    const encoded = encodeNsmRequest({ kind: 'Attestation', userData: null, nonce: null, publicKey: null });
    // {"Attestation": {"user_data": null, "nonce": null, "public_key": null}}
    expect(hex(encoded)).toBe('a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6');
  });

  it('encodes every ErrorCode as the text of its variant and decodes it back', () => {
    for (const code of NSM_ERROR_CODES) {
      const encoded = encodeNsmResponse({ kind: 'Error', code });
      const text = Buffer.from(code, 'utf8');
      expect(hex(encoded)).toBe(`a1654572726f72${(0x60 + text.length).toString(16)}${text.toString('hex')}`);
      expect(decodeNsmResponse(encoded)).toEqual({ kind: 'Error', code });
    }
  });

  it('uses minimal lengths for large byte strings (bstr 0x59 for a 1024-byte random)', () => {
    const random = new Uint8Array(1024).fill(5);
    const encoded = encodeNsmResponse({ kind: 'GetRandom', random });
    expect(hex(encoded.subarray(0, 20))).toBe('a16947657452616e646f6da16672616e646f6d59');
    expect(hex(encoded.subarray(20, 22))).toBe('0400');
    expect(encoded.length).toBe(22 + 1024);
  });

  it('writes locked_pcrs as an ascending set', () => {
    const encoded = encodeNsmResponse({
      kind: 'DescribeNSM', versionMajor: 1, versionMinor: 0, versionPatch: 0, moduleId: 'm', maxPcrs: 32, lockedPcrs: [3, 1, 3, 0], digest: 'SHA384',
    });
    expect(hex(encoded)).toContain('6b6c6f636b65645f7063727383000103');
  });

  it('reads structs the way serde does: any field order, unknown fields ignored, missing Option = None', () => {
    // {"ExtendPCR": {"data": h'01', "extra": 1, "index": 4}}
    const reordered = unhex('a169457874656e64504352a3646461746141016565787472610165696e64657804');
    expect(decodeNsmRequest(reordered)).toEqual({ kind: 'ExtendPCR', index: 4, data: b(1) });
    // {"Attestation": {"nonce": h'01'}}
    const sparse = unhex('a16b4174746573746174696f6ea1656e6f6e63654101');
    expect(decodeNsmRequest(sparse)).toEqual({ kind: 'Attestation', userData: null, nonce: b(1), publicKey: null });
  });

  it('returns byte fields that do not alias the input buffer', () => {
    const input = unhex(examples['resp GetRandom{random:040404}']!);
    const decoded = decodeNsmResponse(input);
    input.fill(0);
    expect(decoded).toEqual({ kind: 'GetRandom', random: b(4, 4, 4) });
  });

  it('rejects malformed messages with ERR_NSM_MALFORMED', () => {
    const cases = [
      '', // empty
      'a1', // truncated
      '6b44657363726962654e534d00', // trailing byte
      '6f556e6b6e6f776e56617269616e74', // "UnknownVariant"
      'a16b4465736372696265504352a165696e6465781a00010000', // index 65536 > u16
      'a16b4465736372696265504352a165696e64657820', // index -1
      'a16b4465736372696265504352a0', // missing index
      'a16b4465736372696265504352f6', // struct content is null
      'a169457874656e64504352a265696e6465780464646174616161', // data is text, not bstr
      'a1654572726f72674e6f74436f6465', // Error("NotCode")
      'a16b44657363726962654e534df6', // unit variant written as a map
      'a26b44657363726962654e534df66947657452616e646f6df6', // two variants in one map
      'a101f6', // non-text variant name
      '01', // not an enum at all
    ];
    for (const c of cases) {
      expectMalformed(() => decodeNsmRequest(unhex(c)));
      expectMalformed(() => decodeNsmResponse(unhex(c)));
    }
    // Response-only shapes.
    expectMalformed(() => decodeNsmResponse(unhex('a16b44657363726962654e534da0'))); // DescribeNSM without fields
    expectMalformed(() => decodeNsmResponse(unhex('a16b4465736372696265504352a2646c6f636b01646461746140'))); // lock: 1
    // A request bigger than the ioctl limit is refused before decoding.
    expectMalformed(() => decodeNsmRequest(new Uint8Array(4097)));
    expectMalformed(() => decodeNsmResponse(new Uint8Array(12289)));
  });

  it('refuses to encode out-of-range values (caller bugs) with RangeError', () => {
    expect(() => encodeNsmRequest({ kind: 'DescribePCR', index: 70000 })).toThrow(RangeError);
    expect(() => encodeNsmRequest({ kind: 'LockPCRs', range: 1.5 })).toThrow(RangeError);
  });
});

describe('NSM error mapping', () => {
  it('NsmError carries ERR_NSM and names the NSM code', () => {
    const error = new NsmError('ReadOnlyIndex', 'PCR 3 is locked');
    expect(error.code).toBe('ERR_NSM');
    expect(error.message).toContain('ReadOnlyIndex');
    expect(nsmErrorCodeOf(error)).toBe('ReadOnlyIndex');
  });

  it('maps foreign errors to an NSM code', () => {
    expect(nsmErrorCodeOf(new EnclaveKitError('ERR_NSM', 'InvalidIndex: PCR 99'))).toBe('InvalidIndex');
    expect(nsmErrorCodeOf(new RangeError('bad'))).toBe('InvalidArgument');
    expect(nsmErrorCodeOf(new Error('boom'))).toBe('InternalError');
    expect(nsmErrorCodeOf(new EnclaveKitError('ERR_NSM', 'something odd'))).toBe('InternalError');
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const bytesArb = fc.uint8Array({ maxLength: 64 }).map((u) => new Uint8Array(u));
const optBytes = fc.option(bytesArb, { nil: null });
const u16Arb = fc.integer({ min: 0, max: 0xffff });

const requestArb: fc.Arbitrary<NsmRequest> = fc.oneof(
  u16Arb.map((index) => ({ kind: 'DescribePCR' as const, index })),
  fc.record({ index: u16Arb, data: bytesArb }).map((r) => ({ kind: 'ExtendPCR' as const, ...r })),
  u16Arb.map((index) => ({ kind: 'LockPCR' as const, index })),
  u16Arb.map((range) => ({ kind: 'LockPCRs' as const, range })),
  fc.constant({ kind: 'DescribeNSM' as const }),
  fc.record({ userData: optBytes, nonce: optBytes, publicKey: optBytes }).map((r) => ({ kind: 'Attestation' as const, ...r })),
  fc.constant({ kind: 'GetRandom' as const }),
);

const responseArb: fc.Arbitrary<NsmResponse> = fc.oneof(
  fc.record({ lock: fc.boolean(), data: bytesArb }).map((r) => ({ kind: 'DescribePCR' as const, ...r })),
  bytesArb.map((data) => ({ kind: 'ExtendPCR' as const, data })),
  fc.constant({ kind: 'LockPCR' as const }),
  fc.constant({ kind: 'LockPCRs' as const }),
  fc
    .record({
      versionMajor: u16Arb, versionMinor: u16Arb, versionPatch: u16Arb, moduleId: fc.string({ maxLength: 40 }), maxPcrs: u16Arb,
      lockedPcrs: fc.uniqueArray(fc.integer({ min: 0, max: 31 })).map((a) => a.sort((x, y) => x - y)),
      digest: fc.constantFrom('SHA256' as const, 'SHA384' as const, 'SHA512' as const),
    })
    .map((r) => ({ kind: 'DescribeNSM' as const, ...r })),
  bytesArb.map((document) => ({ kind: 'Attestation' as const, document })),
  bytesArb.map((random) => ({ kind: 'GetRandom' as const, random })),
  fc.constantFrom(...NSM_ERROR_CODES).map((code) => ({ kind: 'Error' as const, code })),
);

function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof EnclaveKitError) || error.code !== 'ERR_NSM_MALFORMED') throw error;
  }
}

describe('NSM codec properties', () => {
  it('every request round-trips to the same value and the same bytes', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const encoded = encodeNsmRequest(request);
        const decoded = decodeNsmRequest(encoded);
        expect(decoded).toEqual(request);
        expect(hex(encodeNsmRequest(decoded))).toBe(hex(encoded));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('every response round-trips to the same value and the same bytes', () => {
    fc.assert(
      fc.property(responseArb, (response) => {
        const encoded = encodeNsmResponse(response);
        const decoded = decodeNsmResponse(encoded);
        expect(decoded).toEqual(response);
        expect(hex(encodeNsmResponse(decoded))).toBe(hex(encoded));
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('random bytes never throw anything but ERR_NSM_MALFORMED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        onlyTypedErrors(() => decodeNsmRequest(input));
        onlyTypedErrors(() => decodeNsmResponse(input));
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('mutated and truncated valid messages never throw anything but ERR_NSM_MALFORMED', () => {
    const messages = fc.oneof(requestArb.map(encodeNsmRequest), responseArb.map(encodeNsmResponse));
    fc.assert(
      fc.property(messages, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (message, at, byte, truncate) => {
        const copy = new Uint8Array(message);
        const i = at % copy.length;
        copy[i] = byte;
        const input = truncate ? copy.subarray(0, i) : copy;
        onlyTypedErrors(() => decodeNsmRequest(input));
        onlyTypedErrors(() => decodeNsmResponse(input));
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
