/**
 * The messages of the parent ⇄ enclave RPC (docs/architecture.md "Wire protocol"), one per frame:
 *
 *   request  {v: 1, id, op, deadlineMs, body}
 *   reply    {v: 1, id, ok: true, body} | {v: 1, id, ok: false, error: {code, message}}
 *   cancel   {v: 1, id, cancel: true}
 *
 * `id` is chosen by the side that starts the request (a positive safe integer, unique among its
 * own requests in flight); replies and cancels name it. Each direction has its own id space: a
 * reply is matched against our requests, a request or cancel against the peer's.
 * `deadlineMs` is the time the caller still allows, in ms, when it sent the request. It is
 * relative because the two sides share no clock (an enclave has no trusted time).
 *
 * Every decoded message is validated: exact key sets (unknown fields are refused, as a newer
 * shape comes with a new `v`), types, and the lengths below. A frame that fails keeps what could
 * be recovered from it (its role and id) so that the RPC layer can answer or fail just that
 * request (rpc.ts).
 */
import { ProtocolError } from '../errors.js';
import { packPlain, unpackPlain } from './msgpack.js';

export const PROTOCOL_VERSION = 1;

/** Operation names: short, printable, no spaces (they appear in logs and metrics). */
export const OP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
export const OP_MAX_LENGTH = 64;
/** Error codes on the wire: `ERR_` + upper-case (errors.ts); unknown codes map to ERR_INTERNAL. */
const ERROR_CODE_PATTERN = /^ERR_[A-Z0-9_]{1,60}$/;
/** Error messages are one line for a log; longer ones are cut by the sender and refused by the receiver. */
export const ERROR_MESSAGE_MAX_LENGTH = 1024;
/** Largest deadline: the largest delay setTimeout accepts (2^31 - 1 ms, about 24.8 days). */
export const DEADLINE_MAX_MS = 0x7fff_ffff;

export interface WireError {
  code: string;
  message: string;
}

export interface RequestMessage {
  kind: 'request';
  id: number;
  op: string;
  deadlineMs: number;
  body: unknown;
}
export interface ReplyOkMessage {
  kind: 'reply';
  id: number;
  ok: true;
  body: unknown;
}
export interface ReplyErrorMessage {
  kind: 'reply';
  id: number;
  ok: false;
  error: WireError;
}
export interface CancelMessage {
  kind: 'cancel';
  id: number;
}
/** A frame that failed validation, with whatever could be recovered for an answer. */
export interface InvalidMessage {
  kind: 'invalid';
  error: ProtocolError;
  /** What the frame claimed to be, from which fields it has; null if not even that. */
  role: 'request' | 'reply' | 'cancel' | null;
  /** Its id when that field itself is valid, else null. */
  id: number | null;
}
export type Message = RequestMessage | ReplyOkMessage | ReplyErrorMessage | CancelMessage;

export function isValidId(id: unknown): id is number {
  return typeof id === 'number' && id > 0 && Number.isSafeInteger(id);
}

export function isValidOp(op: unknown): op is string {
  return typeof op === 'string' && op.length <= OP_MAX_LENGTH && OP_PATTERN.test(op);
}

// Encoders. Arguments come from our own code: a bad one is a TypeError (packPlain), not a
// protocol error. Key order is fixed by the literals.

export function encodeRequest(id: number, op: string, deadlineMs: number, body: unknown): Buffer {
  return packPlain({ v: PROTOCOL_VERSION, id, op, deadlineMs, body: body === undefined ? null : body });
}

export function encodeReplyOk(id: number, body: unknown): Buffer {
  return packPlain({ v: PROTOCOL_VERSION, id, ok: true, body: body === undefined ? null : body });
}

export function encodeReplyError(id: number, code: string, message: string): Buffer {
  const text = message.length > ERROR_MESSAGE_MAX_LENGTH ? message.slice(0, ERROR_MESSAGE_MAX_LENGTH) : message;
  return packPlain({ v: PROTOCOL_VERSION, id, ok: false, error: { code, message: text } });
}

export function encodeCancel(id: number): Buffer {
  return packPlain({ v: PROTOCOL_VERSION, id, cancel: true });
}

function invalid(
  role: InvalidMessage['role'],
  id: number | null,
  reason: string,
  code: 'ERR_FRAME_MALFORMED' | 'ERR_PROTOCOL_VERSION' = 'ERR_FRAME_MALFORMED',
  cause?: unknown,
): InvalidMessage {
  const error = new ProtocolError(code, reason, cause === undefined ? undefined : { cause });
  return { kind: 'invalid', error, role, id };
}

/**
 * Decodes and validates one frame payload. Never throws: bad input comes back as an
 * InvalidMessage carrying a ProtocolError (ERR_FRAME_MALFORMED, or ERR_PROTOCOL_VERSION for a
 * well-formed message of another version).
 */
export function decodeMessage(payload: Uint8Array): Message | InvalidMessage {
  let value: unknown;
  try {
    value = unpackPlain(payload);
  } catch (error) {
    if (error instanceof ProtocolError) return { kind: 'invalid', error, role: null, id: null };
    return invalid(null, null, 'frame payload could not be decoded', 'ERR_FRAME_MALFORMED', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return invalid(null, null, 'frame is not a message map');
  }
  // A plain object from msgpackr: own enumerable string keys only, prototype Object.prototype,
  // none of the names read below is inherited.
  const m = value as Record<string, unknown>;
  let keyCount = 0;
  for (const _ in m) keyCount++;

  const role: InvalidMessage['role'] =
    m.ok !== undefined ? 'reply' : m.cancel !== undefined ? 'cancel' : m.op !== undefined ? 'request' : null;
  const id = isValidId(m.id) ? m.id : null;

  if (m.v !== PROTOCOL_VERSION) {
    if (typeof m.v === 'number') {
      return invalid(role, id, `unsupported protocol version (this side speaks ${PROTOCOL_VERSION})`, 'ERR_PROTOCOL_VERSION');
    }
    return invalid(role, id, 'message lacks a protocol version');
  }
  if (role === null) return invalid(null, id, 'message is neither a request, a reply nor a cancel');
  if (id === null) return invalid(role, null, 'message id is not a positive safe integer');

  switch (role) {
    case 'request': {
      if (keyCount !== 5 || !('body' in m) || m.deadlineMs === undefined) {
        return invalid(role, id, 'request must have exactly v, id, op, deadlineMs, body');
      }
      if (!isValidOp(m.op)) return invalid(role, id, 'request op is not a valid operation name');
      const deadlineMs = m.deadlineMs;
      if (typeof deadlineMs !== 'number' || !Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > DEADLINE_MAX_MS) {
        return invalid(role, id, `request deadlineMs must be an integer in [1, ${DEADLINE_MAX_MS}]`);
      }
      return { kind: 'request', id, op: m.op, deadlineMs, body: m.body };
    }
    case 'reply': {
      if (keyCount !== 4) return invalid(role, id, 'reply must have exactly v, id, ok and body or error');
      if (m.ok === true) {
        if (!('body' in m)) return invalid(role, id, 'ok reply lacks a body');
        return { kind: 'reply', id, ok: true, body: m.body };
      }
      if (m.ok === false) {
        const error = m.error;
        if (typeof error !== 'object' || error === null || Array.isArray(error) || error instanceof Uint8Array) {
          return invalid(role, id, 'error reply lacks an error map');
        }
        const { code, message } = error as Record<string, unknown>;
        let errorKeys = 0;
        for (const _ in error) errorKeys++;
        if (
          errorKeys !== 2 ||
          typeof code !== 'string' ||
          !ERROR_CODE_PATTERN.test(code) ||
          typeof message !== 'string' ||
          message.length > ERROR_MESSAGE_MAX_LENGTH
        ) {
          return invalid(role, id, 'error reply must carry {code, message} with an ERR_ code and a short message');
        }
        return { kind: 'reply', id, ok: false, error: { code, message } };
      }
      return invalid(role, id, 'reply ok must be a boolean');
    }
    case 'cancel':
      if (keyCount !== 3 || m.cancel !== true) return invalid(role, id, 'cancel must be exactly {v, id, cancel: true}');
      return { kind: 'cancel', id };
  }
}
