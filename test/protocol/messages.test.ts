import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../shared/errors.js';
import {
  decodeMessage,
  encodeCancel,
  encodeReplyError,
  encodeReplyOk,
  encodeRequest,
  type InvalidMessage,
} from '../../shared/protocol/messages.js';
import { MSGPACK_MAX_DEPTH, scanMsgpack } from '../../shared/protocol/msgpack-scan.js';
import { packPlain, unpackPlain } from '../../shared/protocol/msgpack.js';

/** A permissive encoder, standing in for a peer that sends whatever it likes. */
const anyPackr = new Packr({ useRecords: false, moreTypes: true });
const raw = (value: unknown): Buffer => anyPackr.pack(value);
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function expectInvalid(payload: Uint8Array, code: string, role: InvalidMessage['role'], id: number | null): InvalidMessage {
  const m = decodeMessage(payload);
  expect(m.kind).toBe('invalid');
  const inv = m as InvalidMessage;
  expect(inv.error).toBeInstanceOf(ProtocolError);
  expect(inv.error.code).toBe(code);
  expect(inv.role).toBe(role);
  expect(inv.id).toBe(id);
  return inv;
}

describe('wire messages', () => {
  it('round-trips requests, replies and cancels', () => {
    expect(decodeMessage(encodeRequest(7, 'tokenize', 5000, { pan: '4111', n: [1, 2.5, null, true] }))).toEqual({
      kind: 'request', id: 7, op: 'tokenize', deadlineMs: 5000, body: { pan: '4111', n: [1, 2.5, null, true] },
    });
    expect(decodeMessage(encodeReplyOk(7, 'tok_1'))).toEqual({ kind: 'reply', id: 7, ok: true, body: 'tok_1' });
    expect(decodeMessage(encodeReplyError(8, 'ERR_INVALID_CARD', 'bad luhn'))).toEqual({
      kind: 'reply', id: 8, ok: false, error: { code: 'ERR_INVALID_CARD', message: 'bad luhn' },
    });
    expect(decodeMessage(encodeCancel(9))).toEqual({ kind: 'cancel', id: 9 });
  });

  it('carries Uint8Array and Buffer as bytes, decoded into fresh Buffers', () => {
    const payload = encodeRequest(1, 'op', 10, { a: new Uint8Array([1, 2, 3]), b: Buffer.from('ff00', 'hex') });
    const m = decodeMessage(payload);
    if (m.kind !== 'request') throw new Error('expected a request');
    const body = m.body as { a: Buffer; b: Buffer };
    expect(Buffer.isBuffer(body.a)).toBe(true);
    expect([...body.a]).toEqual([1, 2, 3]);
    expect(body.b.toString('hex')).toBe('ff00');
    // copyBuffers: the decoded bytes do not alias the frame.
    payload.fill(0);
    expect([...body.a]).toEqual([1, 2, 3]);
  });

  it('treats undefined as JSON does (dropped property, null element, null body)', () => {
    const m = decodeMessage(encodeReplyOk(1, { a: undefined, b: [undefined, 1] }));
    expect(m).toEqual({ kind: 'reply', id: 1, ok: true, body: { b: [null, 1] } });
    expect(decodeMessage(encodeReplyOk(2, undefined))).toEqual({ kind: 'reply', id: 2, ok: true, body: null });
  });

  it('cuts long error messages to 1024 characters', () => {
    const m = decodeMessage(encodeReplyError(1, 'ERR_INTERNAL', 'x'.repeat(5000)));
    expect(m.kind === 'reply' && !m.ok && m.error.message.length).toBe(1024);
  });

  it('refuses to encode values outside the data model (TypeError: our bug, not the peer\'s)', () => {
    for (const body of [new Date(0), 2n ** 60n, Symbol('s'), { d: new Date(0) }]) {
      expect(() => encodeRequest(1, 'op', 10, body), String(typeof body)).toThrow(TypeError);
    }
  });

  it('round-trips arbitrary plain data (fast-check, fixed seed)', () => {
    const plain = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
        fc.string(),
        fc.uint8Array().map((u) => Buffer.from(u)),
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), plain, (id, body) => {
        const m = decodeMessage(encodeReplyOk(id, body));
        expect(m).toEqual({ kind: 'reply', id, ok: true, body });
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        const m = decodeMessage(bytes);
        if (m.kind === 'invalid') expect(m.error).toBeInstanceOf(ProtocolError);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  describe('validation', () => {
    const req = { v: 1, id: 5, op: 'x', deadlineMs: 100, body: null };

    it('answers to a wrong version with ERR_PROTOCOL_VERSION, keeping role and id', () => {
      expectInvalid(raw({ ...req, v: 2 }), 'ERR_PROTOCOL_VERSION', 'request', 5);
      expectInvalid(raw({ v: 0, id: 6, ok: true, body: 1 }), 'ERR_PROTOCOL_VERSION', 'reply', 6);
      expectInvalid(raw({ ...req, v: '1' }), 'ERR_FRAME_MALFORMED', 'request', 5);
      const { v: _v, ...noVersion } = req;
      expectInvalid(raw(noVersion), 'ERR_FRAME_MALFORMED', 'request', 5);
    });

    it('refuses ids that are not positive safe integers', () => {
      for (const id of [0, -1, 1.5, 2 ** 53, '1', null]) {
        expectInvalid(raw({ ...req, id }), 'ERR_FRAME_MALFORMED', 'request', null);
      }
    });

    it('refuses bad ops, deadlines, extra or missing fields, keeping the id', () => {
      for (const op of ['', ' x', 'a b', 'x'.repeat(65), 5, '__proto__', 'é']) {
        expectInvalid(raw({ ...req, op }), 'ERR_FRAME_MALFORMED', 'request', 5);
      }
      for (const deadlineMs of [0, -5, 1.5, 2 ** 31, '100', null]) {
        expectInvalid(raw({ ...req, deadlineMs }), 'ERR_FRAME_MALFORMED', 'request', 5);
      }
      expectInvalid(raw({ ...req, extra: 1 }), 'ERR_FRAME_MALFORMED', 'request', 5);
      const { body: _b, ...noBody } = req;
      expectInvalid(raw(noBody), 'ERR_FRAME_MALFORMED', 'request', 5);
      const { deadlineMs: _d, ...noDeadline } = req;
      expectInvalid(raw(noDeadline), 'ERR_FRAME_MALFORMED', 'request', 5);
    });

    it('refuses malformed replies and cancels', () => {
      expectInvalid(raw({ v: 1, id: 3, ok: 'yes', body: 1 }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 3, ok: true }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 3, ok: false, error: 'boom' }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 3, ok: false, error: { code: 'nope', message: 'm' } }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 3, ok: false, error: { code: 'ERR_X', message: 'm', stack: 's' } }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 3, ok: false, error: { code: 'ERR_X', message: 'm'.repeat(1025) } }), 'ERR_FRAME_MALFORMED', 'reply', 3);
      expectInvalid(raw({ v: 1, id: 4, cancel: 1 }), 'ERR_FRAME_MALFORMED', 'cancel', 4);
      expectInvalid(raw({ v: 1, id: 4 }), 'ERR_FRAME_MALFORMED', null, 4);
    });

    it('refuses non-map frames and undecodable bytes without a role or id', () => {
      for (const value of [[1, 2], 'str', 42, null, Buffer.from([1])]) expectInvalid(raw(value), 'ERR_FRAME_MALFORMED', null, null);
      expectInvalid(hex('85 a1'), 'ERR_FRAME_MALFORMED', null, null); // truncated map
      expectInvalid(Buffer.concat([encodeCancel(1), hex('c0')]), 'ERR_FRAME_MALFORMED', null, null); // trailing bytes
    });
  });

  describe('msgpack data model (scan before msgpackr decodes)', () => {
    const cases: [string, Buffer][] = [
      // msgpackr record definition (fixext1 type 0x72) then a record reference: would compile a
      // reader and reinterpret 0x40 as an object.
      ['record definition', hex('d4 72 40 91 a1 61 40 01')],
      ['timestamp ext -1', raw(new Date(0))],
      ['Error ext 0x65', raw(new Error('x'))],
      ['RegExp ext 0x78', raw(/a+/)],
      ['Set ext 0x73', raw(new Set([1]))],
      ['typed array ext 0x74', raw(new Float64Array([1]))],
      ['structured clone id ext 0x69', hex('d6 69 00 00 00 01 90')],
      ['undefined ext 0', hex('d4 00 00')],
      ['bundled strings ext 0x62', hex('d6 62 00 00 00 00')],
      ['ext 8', hex('c7 01 05 00')],
      ['reserved 0xc1', hex('c1')],
      ['uint64 above 2^53-1', hex('cf 00 20 00 00 00 00 00 00')],
      ['int64 below -(2^53-1)', hex('d3 ff e0 00 00 00 00 00 00')],
      ['array longer than the frame', hex('dd 7f ff ff ff 01')],
      ['map longer than the frame', hex('df 7f ff ff ff 01')],
      ['bin longer than the frame', hex('c6 7f ff ff ff 01')],
      ['str longer than the frame', hex('db 00 00 10 00 61')],
      ['map with an integer key', hex('81 01 02')],
      ['map with a map key', hex('81 80 02')],
      ['empty input', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of cases) {
      it(`refuses ${name}`, () => {
        expect(() => scanMsgpack(bytes)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_MALFORMED' }));
        expect(() => unpackPlain(bytes)).toThrow(ProtocolError);
      });
    }

    it('accepts the integer extremes exactly', () => {
      expect(unpackPlain(hex('cf 00 1f ff ff ff ff ff ff'))).toBe(Number.MAX_SAFE_INTEGER);
      expect(unpackPlain(hex('d3 ff e0 00 00 00 00 00 01'))).toBe(Number.MIN_SAFE_INTEGER);
      expect(unpackPlain(packPlain(-(2 ** 40)))).toBe(-(2 ** 40));
    });

    it(`accepts nesting up to ${MSGPACK_MAX_DEPTH} levels and refuses one more`, () => {
      const nest = (n: number): Buffer => Buffer.concat([Buffer.alloc(n, 0x91), hex('c0')]);
      expect(() => scanMsgpack(nest(MSGPACK_MAX_DEPTH))).not.toThrow();
      expect(() => scanMsgpack(nest(MSGPACK_MAX_DEPTH + 1))).toThrow(/nested deeper/);
      // A deep nest is refused by the iterative scan, not by a stack overflow in the decoder.
      expect(() => unpackPlain(nest(100_000))).toThrow(ProtocolError);
    });

    it('renames a __proto__ key instead of setting the prototype', () => {
      const value = unpackPlain(hex('81 a9 5f5f70726f746f5f5f 81 a1 61 01')) as Record<string, unknown>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect((value as { a?: unknown }).a).toBeUndefined();
    });
  });
});
