/**
 * Fuzzing the RPC messages (shared/protocol/messages.ts decodeMessage) and an RpcPeer serving
 * whatever a hostile peer sends (shared/protocol/rpc.ts).
 *
 * - Structured: maps built from the wire vocabulary (v, id, op, deadlineMs, body, ok, error,
 *   cancel, plus stray keys) with valid and boundary values. decodeMessage is compared with an
 *   oracle written from the wire rules (messages.ts header, docs/architecture.md "Wire protocol").
 * - Bytes: valid encodings mutated byte by byte, and raw msgpack heads (extension types, 64-bit
 *   integers, deep nesting, truncations): never a throw, only the documented outcomes.
 * - A serving RpcPeer fed a random mix of all of these: every frame it sends back is a valid
 *   reply, exactly one per request-shaped frame with a usable id, typed (its code from
 *   shared/errors.ts), in order; nothing is answered to anything else; a well-formed request
 *   still works after the storm.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError, ProtocolError, isErrorCode } from '../../shared/errors.js';
import { createMemoryChannelPair } from '../../shared/protocol/memory-channel.js';
import { DEADLINE_MAX_MS, ERROR_MESSAGE_MAX_LENGTH, OP_PATTERN, decodeMessage, encodeCancel, encodeReplyError, encodeReplyOk, encodeRequest, type InvalidMessage, type Message } from '../../shared/protocol/messages.js';
import { packPlain } from '../../shared/protocol/msgpack.js';
import { RpcPeer } from '../../shared/protocol/rpc.js';
import { fuzzParams } from './runs.js';

const KEYS = ['v', 'id', 'op', 'deadlineMs', 'body', 'ok', 'error', 'cancel'] as const;
const STRAY_KEYS = ['extra', '__proto__', 'constructor', 'toString', 'V', 'ID'];
const anyBody = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 16 }).map((u) => Buffer.from(u)),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('a', 'b', 'card', 'esdk'), fc.integer(), { maxKeys: 2 }),
);
const VALUES: Record<(typeof KEYS)[number], fc.Arbitrary<unknown>> = {
  v: fc.constantFrom(1, 1, 1, 2, 0, 1.5, '1', null, true),
  id: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 1.5, 2 ** 40, Number.MAX_SAFE_INTEGER, '7', null, [], {})),
  op: fc.oneof(
    fc.constantFrom('echo', 'fail', 'boom', 'status', 'no.such-op'),
    fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), 'bad op', '-x', '../x', 'x/y:z', 7, null),
    fc.string({ maxLength: 70 }),
  ),
  deadlineMs: fc.constantFrom(1, 1000, 60_000, DEADLINE_MAX_MS, DEADLINE_MAX_MS + 1, 0, -5, 1.5, '5', null),
  body: anyBody,
  ok: fc.constantFrom(true, false, true, false, 1, null, 'true'),
  error: fc.oneof(
    fc.record({ code: fc.constantFrom('ERR_BAD_REQUEST', 'ERR_X', `ERR_${'A'.repeat(60)}`, `ERR_${'A'.repeat(61)}`, 'bad', 'ERR_', 'err_x'), message: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('x'.repeat(ERROR_MESSAGE_MAX_LENGTH + 1)), fc.constant(5)) }),
    fc.constantFrom({ code: 'ERR_X' }, { code: 'ERR_X', message: 'm', extra: 1 }, 'str', null, [], 3),
  ),
  cancel: fc.constantFrom(true, true, false, 1, null),
};

/**
 * A map from the wire vocabulary: a well-formed request, reply or cancel, then 0 to 2
 * perturbations (a key dropped, a key added from the vocabulary or a stray one, a value replaced
 * by a boundary value), so that every outcome, valid and invalid, is reached.
 */
const TEMPLATES = {
  request: fc.record({ v: fc.constant(1), id: fc.integer({ min: 1, max: 1000 }), op: fc.constantFrom('echo', 'fail', 'boom', 'cards.tokenize'), deadlineMs: fc.integer({ min: 1, max: 60_000 }), body: anyBody }),
  replyOk: fc.record({ v: fc.constant(1), id: fc.integer({ min: 1, max: 1000 }), ok: fc.constant(true), body: anyBody }),
  replyError: fc.record({ v: fc.constant(1), id: fc.integer({ min: 1, max: 1000 }), ok: fc.constant(false), error: fc.record({ code: fc.constantFrom('ERR_BAD_REQUEST', 'ERR_X'), message: fc.string({ maxLength: 10 }) }) }),
  cancel: fc.record({ v: fc.constant(1), id: fc.integer({ min: 1, max: 1000 }), cancel: fc.constant(true) }),
};
type Perturbation = { kind: 'drop'; which: number } | { kind: 'add'; key: string; value: unknown } | { kind: 'replace'; which: number; value: unknown };
const perturbation: fc.Arbitrary<Perturbation> = fc.oneof(
  fc.nat().map((which): Perturbation => ({ kind: 'drop', which })),
  fc.tuple(fc.constantFrom(...KEYS, ...STRAY_KEYS), fc.integer()).chain(([key, n]) =>
    ((KEYS as readonly string[]).includes(key) ? VALUES[key as (typeof KEYS)[number]] : fc.constant(n)).map((value): Perturbation => ({ kind: 'add', key, value })),
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...KEYS)).chain(([which, from]) => VALUES[from].map((value): Perturbation => ({ kind: 'replace', which, value }))),
);
const structuredMessage: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.oneof(TEMPLATES.request, TEMPLATES.replyOk, TEMPLATES.replyError, TEMPLATES.cancel), fc.array(perturbation, { maxLength: 2 }))
  .map(([template, changes]) => {
    const entries: [string, unknown][] = Object.entries(template);
    for (const change of changes) {
      if (entries.length === 0) break;
      const at = 'which' in change ? change.which % entries.length : 0;
      if (change.kind === 'drop') entries.splice(at, 1);
      else if (change.kind === 'replace') entries[at] = [entries[at]![0], change.value];
      else {
        const existing = entries.findIndex(([k]) => k === change.key);
        if (existing >= 0) entries[existing] = [change.key, change.value];
        else entries.push([change.key, change.value]);
      }
    }
    // fromEntries defines '__proto__' as an own key, as a peer's map would carry it.
    return Object.fromEntries(entries);
  });

const isValidId = (id: unknown): id is number => typeof id === 'number' && Number.isSafeInteger(id) && id > 0;

/** What the wire rules say about a decoded map: the kind, or invalid with its code, role and id. */
function oracle(m: Record<string, unknown>): { kind: Message['kind'] } | { kind: 'invalid'; code: string; role: InvalidMessage['role']; id: number | null } {
  const has = (k: string): boolean => Object.hasOwn(m, k);
  const role = has('ok') ? 'reply' : has('cancel') ? 'cancel' : has('op') ? 'request' : null;
  const id = isValidId(m['id']) ? m['id'] : null;
  const bad = (r: InvalidMessage['role'] = role, i: number | null = id) => ({ kind: 'invalid' as const, code: 'ERR_FRAME_MALFORMED', role: r, id: i });
  if (m['v'] !== 1) return typeof m['v'] === 'number' ? { kind: 'invalid', code: 'ERR_PROTOCOL_VERSION', role, id } : bad();
  if (role === null) return bad(null);
  if (id === null) return bad(role, null);
  const keys = Object.keys(m).sort().join();
  if (role === 'request') {
    const d = m['deadlineMs'];
    const okOp = typeof m['op'] === 'string' && m['op'].length <= 64 && OP_PATTERN.test(m['op']);
    const okDeadline = typeof d === 'number' && Number.isInteger(d) && d >= 1 && d <= DEADLINE_MAX_MS;
    return keys === 'body,deadlineMs,id,op,v' && okOp && okDeadline ? { kind: 'request' } : bad();
  }
  if (role === 'reply') {
    if (m['ok'] === true) return keys === 'body,id,ok,v' ? { kind: 'reply' } : bad();
    if (m['ok'] !== false || keys !== 'error,id,ok,v') return bad();
    const e = m['error'];
    if (typeof e !== 'object' || e === null || Array.isArray(e) || Buffer.isBuffer(e)) return bad();
    const { code, message } = e as Record<string, unknown>;
    const good = Object.keys(e).sort().join() === 'code,message' && typeof code === 'string' && /^ERR_[A-Z0-9_]{1,60}$/.test(code) && typeof message === 'string' && message.length <= ERROR_MESSAGE_MAX_LENGTH;
    return good ? { kind: 'reply' } : bad();
  }
  return keys === 'cancel,id,v' && m['cancel'] === true ? { kind: 'cancel' } : bad();
}

/** Invariants of whatever decodeMessage returns. */
function checkDecoded(d: Message | InvalidMessage): void {
  if (d.kind === 'invalid') {
    expect(d.error).toBeInstanceOf(ProtocolError);
    expect(['ERR_FRAME_MALFORMED', 'ERR_PROTOCOL_VERSION']).toContain(d.error.code);
    expect(d.id === null || isValidId(d.id)).toBe(true);
    return;
  }
  expect(isValidId(d.id)).toBe(true);
  if (d.kind === 'request') {
    expect(OP_PATTERN.test(d.op)).toBe(true);
    expect(Number.isInteger(d.deadlineMs) && d.deadlineMs >= 1 && d.deadlineMs <= DEADLINE_MAX_MS).toBe(true);
  }
  if (d.kind === 'reply' && !d.ok) expect(d.error.code).toMatch(/^ERR_[A-Z0-9_]{1,60}$/);
}

/** Raw msgpack the encoder never makes: extension types, 64-bit integers, deep nesting, junk. */
const rawMsgpack = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 48 }),
  fc.constantFrom(
    Buffer.from([0x81, 0xa1, 0x76, 0xd4, 0x01, 0x02]), // {v: fixext1}
    Buffer.from([0x81, 0xa2, 0x69, 0x64, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // {id: 2^64-1}
    Buffer.from([0x81, 0xa2, 0x69, 0x64, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]), // {id: -2^63}
    Buffer.from([0xc7, 0x00, 0xff]), // ext8, type -1 (timestamp)
    Buffer.from([...Array(64).fill(0x91), 0xc0]), // 64 nested arrays
    Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // map32 announcing 2^32-1 entries
    Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), // str32 announcing 4 GiB
    Buffer.from([0xc1]), // never used
  ),
);

function mutate(bytes: Buffer, edits: { at: number; value: number; op: 0 | 1 | 2 }[]): Buffer {
  let out = Buffer.from(bytes);
  for (const e of edits) {
    const at = Math.floor(e.at * out.length);
    if (e.op === 0 && out.length > 0) out[at] = e.value;
    else if (e.op === 1) out = Buffer.concat([out.subarray(0, at), Buffer.of(e.value), out.subarray(at)]);
    else out = out.subarray(0, at);
  }
  return out;
}
const edits = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), value: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom<0 | 1 | 2>(0, 0, 0, 1, 2) }), { minLength: 1, maxLength: 4 });
const validEncoding = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.constantFrom('echo', 'cards.tokenize'), fc.integer({ min: 1, max: 60_000 }), anyBody).map(([id, op, d, body]) => encodeRequest(id, op, d, body)),
  fc.tuple(fc.integer({ min: 1, max: 1000 }), anyBody).map(([id, body]) => encodeReplyOk(id, body)),
  fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.string({ maxLength: 12 })).map(([id, message]) => encodeReplyError(id, 'ERR_BAD_REQUEST', message)),
  fc.integer({ min: 1, max: 1000 }).map((id) => encodeCancel(id)),
);

describe('decodeMessage fuzz', () => {
  it('structured maps: the outcome the wire rules give, never a throw', () => {
    const kinds: Record<string, number> = {};
    fc.assert(
      fc.property(structuredMessage, (m) => {
        const decoded = decodeMessage(packPlain(m));
        checkDecoded(decoded);
        // msgpackr renames a '__proto__' key (it never reaches the prototype): judge what decodes.
        const seen = Object.fromEntries(Object.entries(m).map(([k, v]) => [k === '__proto__' ? '__proto_' : k, v]));
        const expected = oracle(seen);
        kinds[decoded.kind] = (kinds[decoded.kind] ?? 0) + 1;
        expect(decoded.kind).toBe(expected.kind);
        if (decoded.kind === 'invalid' && expected.kind === 'invalid') {
          expect({ code: decoded.error.code, role: decoded.role, id: decoded.id }).toEqual({ code: expected.code, role: expected.role, id: expected.id });
        }
      }),
      fuzzParams(3),
    );
    // The generator reaches every outcome, not only refusals.
    for (const kind of ['request', 'reply', 'cancel', 'invalid']) expect(kinds[kind] ?? 0).toBeGreaterThan(0);
  });

  it('mutated valid encodings and raw msgpack: never a throw, only documented outcomes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(validEncoding, edits).map(([bytes, e]) => mutate(bytes, e)), rawMsgpack), (bytes) => {
        const decoded = decodeMessage(bytes);
        checkDecoded(decoded);
        if (decoded.kind !== 'invalid') {
          // Whatever was accepted re-encodes to something that decodes the same.
          const again =
            decoded.kind === 'request' ? encodeRequest(decoded.id, decoded.op, decoded.deadlineMs, decoded.body)
            : decoded.kind === 'cancel' ? encodeCancel(decoded.id)
            : decoded.ok ? encodeReplyOk(decoded.id, decoded.body)
            : encodeReplyError(decoded.id, decoded.error.code, decoded.error.message);
          expect(decodeMessage(again)).toEqual(decoded);
        }
      }),
      fuzzParams(3),
    );
  });
});

describe('RpcPeer fuzz: a serving peer fed hostile frames', () => {
  const peers: RpcPeer[] = [];
  afterEach(() => {
    for (const p of peers.splice(0)) p.close();
  });

  const frameArb = fc.oneof(
    { weight: 3, arbitrary: structuredMessage.map((m) => packPlain(m)) },
    { weight: 2, arbitrary: fc.tuple(validEncoding, edits).map(([bytes, e]) => mutate(bytes, e)).filter((b) => b.length > 0) },
    { weight: 2, arbitrary: validEncoding },
    { weight: 1, arbitrary: rawMsgpack },
  );

  it('answers exactly the request-shaped frames with a usable id, each with a typed reply, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 30 }), async (frames) => {
        const [serving, raw] = createMemoryChannelPair();
        // Synchronous handlers: each request settles before the next frame, so a later cancel
        // or duplicate id can never suppress or collide with an earlier reply.
        const peer = new RpcPeer(serving, {
          handlers: {
            echo: (body) => body,
            fail: () => {
              throw new InputError('ERR_BAD_REQUEST', 'refused');
            },
            boom: () => {
              throw new Error('a secret-looking exception text');
            },
          },
          onHandlerError: () => undefined,
        });
        peers.push(peer);
        const replies: Message[] = [];
        raw.onFrame((payload) => {
          const m = decodeMessage(payload);
          if (m.kind !== 'reply') throw new Error(`the serving peer sent a ${m.kind} frame`);
          replies.push(m);
        });

        // The expected answer to each frame, from how it decodes.
        const expected: { id: number; ok: boolean; code?: string; body?: unknown }[] = [];
        let invalid = 0;
        for (const frame of frames) {
          const m = decodeMessage(frame);
          if (m.kind === 'request') {
            if (m.op === 'echo') expected.push({ id: m.id, ok: true, body: m.body });
            else if (m.op === 'fail') expected.push({ id: m.id, ok: false, code: 'ERR_BAD_REQUEST' });
            else if (m.op === 'boom') expected.push({ id: m.id, ok: false, code: 'ERR_INTERNAL' });
            else expected.push({ id: m.id, ok: false, code: 'ERR_UNKNOWN_OPERATION' });
          } else if (m.kind === 'invalid' && m.role === 'request' && m.id !== null) {
            expected.push({ id: m.id, ok: false, code: m.error.code });
          }
          if (m.kind === 'invalid') invalid += 1;
          raw.send(frame);
        }
        // Then a well-formed request: still served.
        raw.send(encodeRequest(999_999, 'echo', 5_000, { still: 'working' }));
        expected.push({ id: 999_999, ok: true, body: { still: 'working' } });

        const deadline = Date.now() + 5_000;
        while (replies.length < expected.length && Date.now() < deadline) await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        expect(replies).toHaveLength(expected.length);
        replies.forEach((reply, i) => {
          const want = expected[i]!;
          expect(reply.kind === 'reply' && reply.id).toBe(want.id);
          if (reply.kind !== 'reply') return;
          expect(reply.ok).toBe(want.ok);
          if (reply.ok) expect(reply.body).toEqual(want.body ?? null);
          else {
            expect(isErrorCode(reply.error.code)).toBe(true);
            expect(reply.error.code).toBe(want.code);
            expect(reply.error.message).not.toContain('secret');
          }
        });
        expect(peer.closed).toBe(false);
        expect(peer.stats.serving).toBe(0);
        // Every invalid frame was counted (and only those: no id was ever in use twice).
        expect(peer.stats.malformedFrames).toBe(invalid);
        peer.close();
      }),
      fuzzParams(0.3),
    );
  });
});
