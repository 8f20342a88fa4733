/**
 * The JSON form of an HPKE-sealed input on the parent's HTTP API and in enclave messages
 *: `{"enc": "<base64>", "ciphertext": "<base64>", "sender"?: "<base64>"}`.
 * `sender` (an extension of the shape) names the raw X25519 public key of an Auth-mode
 * sender, so the enclave checks the allowlist first and opens once instead of trying every
 * allowlisted key (enclave/hpke-open.ts).
 *
 * Base64 is RFC 4648 §4 (standard alphabet, padded), decoded strictly: Node's decoder silently
 * skips invalid characters, so the text is checked first.
 */
import { InputError } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { SealedMessage } from './seal.js';
import { HPKE_ENC_BYTES, HPKE_PUBLIC_KEY_BYTES } from './suite.js';

export interface SealedEnvelopeJson {
  enc: string;
  ciphertext: string;
  sender?: string;
}

export interface SealedEnvelope extends SealedMessage {
  sender?: Uint8Array;
}

/** Longest ciphertext accepted: what fits in an HTTP body. */
export const HPKE_CIPHERTEXT_MAX_BYTES = LIMITS.httpBodyMaxBytes;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const FIELDS = new Set(['enc', 'ciphertext', 'sender']);

export function encodeSealedEnvelope(sealed: SealedEnvelope): SealedEnvelopeJson {
  return {
    enc: Buffer.from(sealed.enc).toString('base64'),
    ciphertext: Buffer.from(sealed.ciphertext).toString('base64'),
    ...(sealed.sender === undefined ? {} : { sender: Buffer.from(sealed.sender).toString('base64') }),
  };
}

/** Validates the JSON shape; throws InputError ERR_SEALED_INPUT_MALFORMED. */
export function decodeSealedEnvelope(value: unknown): SealedEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed('sealed input must be an object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!FIELDS.has(key)) malformed('sealed input has an unknown field');
  const enc = base64Field(record['enc'], 'enc', HPKE_ENC_BYTES);
  const ciphertext = base64Field(record['ciphertext'], 'ciphertext', HPKE_CIPHERTEXT_MAX_BYTES);
  if (enc.length !== HPKE_ENC_BYTES) malformed(`enc must be ${HPKE_ENC_BYTES} bytes`);
  if (record['sender'] === undefined) return { enc, ciphertext };
  const sender = base64Field(record['sender'], 'sender', HPKE_PUBLIC_KEY_BYTES);
  if (sender.length !== HPKE_PUBLIC_KEY_BYTES) malformed(`sender must be ${HPKE_PUBLIC_KEY_BYTES} bytes`);
  return { enc, ciphertext, sender };
}

function base64Field(value: unknown, name: string, maxBytes: number): Uint8Array {
  if (typeof value !== 'string') malformed(`${name} must be a base64 string`);
  // Checked on the text length before decoding: 4 characters per 3 bytes.
  if (value.length > Math.ceil(maxBytes / 3) * 4) malformed(`${name} is too long`);
  if (!BASE64.test(value)) malformed(`${name} is not valid base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function malformed(message: string): never {
  throw new InputError('ERR_SEALED_INPUT_MALFORMED', message);
}
