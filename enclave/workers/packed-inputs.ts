/**
 * The sealed inputs of one `tasks` message (enclave/workers/protocol.ts), packed into one buffer
 * that the main thread transfers to the worker. A structured clone would give every byte field an
 * ArrayBuffer of its own on both threads (three per HPKE input, and the clone copies a view's whole
 * ArrayBuffer, which for the RPC layer's decoded fields is the frame); packed, the bytes are copied
 * once, the buffer moves without a copy, and the worker reads views into it.
 *
 * Layout, item after item: a kind byte, then each of the kind's byte fields as a 4-byte big-endian
 * length and the bytes. Only the main thread writes it and only a pool worker reads it, inside one
 * process: it carries ciphertext only (no secret to zero), and a malformed buffer is a bug, which
 * the reader reports with RangeError.
 */
import type { SealedInput } from '../app/sealed-input.js';

const ESDK = 0;
const KMS_RSA = 1;
const HPKE_BASE = 2;
const HPKE_AUTH = 3;

/** The input's byte fields in packing order, and its kind. */
function fieldsOf(input: SealedInput): [number, Uint8Array[]] {
  if ('esdk' in input) return [ESDK, [input.esdk]];
  if ('kmsRsa' in input) return [KMS_RSA, [input.kmsRsa]];
  const { enc, ciphertext, sender } = input.hpke;
  return sender === undefined ? [HPKE_BASE, [enc, ciphertext]] : [HPKE_AUTH, [enc, ciphertext, sender]];
}

export function packInputs(inputs: readonly SealedInput[]): Uint8Array<ArrayBuffer> {
  const parts = inputs.map(fieldsOf);
  let size = 0;
  for (const [, fields] of parts) {
    size += 1;
    for (const field of fields) size += 4 + field.byteLength;
  }
  const packed = new Uint8Array(size);
  const view = new DataView(packed.buffer);
  let at = 0;
  for (const [kind, fields] of parts) {
    packed[at++] = kind;
    for (const field of fields) {
      view.setUint32(at, field.byteLength);
      packed.set(field, at + 4);
      at += 4 + field.byteLength;
    }
  }
  return packed;
}

export function unpackInputs(packed: Uint8Array<ArrayBuffer>): SealedInput[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const inputs: SealedInput[] = [];
  let at = 0;
  const field = (): Uint8Array<ArrayBuffer> => {
    const length = view.getUint32(at);
    const start = at + 4;
    at = start + length;
    if (at > packed.byteLength) throw new RangeError('packed inputs end inside a field');
    return packed.subarray(start, at);
  };
  while (at < packed.byteLength) {
    const kind = packed[at++];
    switch (kind) {
      case ESDK:
        inputs.push({ esdk: field() });
        break;
      case KMS_RSA:
        inputs.push({ kmsRsa: field() });
        break;
      case HPKE_BASE:
        inputs.push({ hpke: { enc: field(), ciphertext: field() } });
        break;
      case HPKE_AUTH:
        inputs.push({ hpke: { enc: field(), ciphertext: field(), sender: field() } });
        break;
      default:
        throw new RangeError('packed inputs hold an unknown kind');
    }
  }
  return inputs;
}
