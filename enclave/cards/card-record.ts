/**
 * The card plaintext clients seal: UTF-8 JSON `{"pan", "exp": "MM/YY", "cvc"?, "name"?}`.
 * Parsing is strict (unknown fields refused, docs/conventions.md item 8) and every failure is InputError
 * ERR_INVALID_CARD with a fixed message: no error, message or `cause` carries the input, because
 * JSON.parse's own SyntaxError quotes the text it choked on.
 *
 * The returned record masks itself when serialised or inspected (JSON.stringify, console.log,
 * util.inspect), so a stray log line shows `411111******1111`, never the PAN or the CVC.
 */
import { inspect } from 'node:util';
import { InputError } from '../../shared/errors.js';
import { detectBrand } from './brand.js';
import { parseExpiry, type CardExpiry } from './expiry.js';

/** Largest accepted record, checked before decoding. A full record is well under 200 bytes. */
export const CARD_RECORD_MAX_BYTES = 1024;
/** ISO/IEC 7812-1: PANs have 8 to 19 digits; payment cards in use have at least 12. */
export const PAN_MIN_LENGTH = 12;
export const PAN_MAX_LENGTH = 19;
/** Cardholder names: ISO/IEC 7813 track 1 holds 26 characters; leave room for full names. */
export const CARD_NAME_MAX_CHARS = 100;

export interface CardRecord {
  /** ASCII digits only (spaces and hyphens of the input removed). */
  readonly pan: string;
  readonly expiry: CardExpiry;
  /** 3 digits, or 4 for American Express; null when absent. Never store, log or return it. */
  readonly cvc: string | null;
  readonly name: string | null;
}

const FIELDS = new Set(['pan', 'exp', 'cvc', 'name']);

/** Parses and validates the sealed card plaintext. */
export function parseCardRecord(bytes: Uint8Array): CardRecord {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseCardRecord expects bytes');
  if (bytes.length > CARD_RECORD_MAX_BYTES) invalid('card record is too large');
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    // No `cause`: the SyntaxError message quotes the input.
    invalid('card record is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('card record must be a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FIELDS.has(key)) invalid('card record has an unknown field');
  }

  const pan = parsePan(record['pan']);
  if (typeof record['exp'] !== 'string') invalid('exp must be MM/YY');
  const expiry = parseExpiry(record['exp']);
  const cvc = parseCvc(record['cvc'], detectBrand(pan) === 'amex' ? 4 : 3);
  const name = parseName(record['name']);
  return new MaskedCardRecord(pan, expiry, cvc, name);
}

/** `411111******1111`: what a log may show of a PAN (PCI DSS 4.0 req. 3.4.1: at most BIN and last 4). */
export function maskPan(pan: string): string {
  if (pan.length < 10) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

class MaskedCardRecord implements CardRecord {
  constructor(
    readonly pan: string,
    readonly expiry: CardExpiry,
    readonly cvc: string | null,
    readonly name: string | null,
  ) {
    Object.freeze(this);
  }

  toJSON(): Record<string, unknown> {
    return { pan: maskPan(this.pan), expiry: this.expiry, cvc: this.cvc === null ? null : '***', name: this.name === null ? null : '***' };
  }

  [inspect.custom](): string {
    return `CardRecord ${JSON.stringify(this.toJSON())}`;
  }
}

function parsePan(value: unknown): string {
  // Numbers are refused: a 16-digit PAN does not survive a JSON number (2^53 ≈ 9.007e15).
  if (typeof value !== 'string' || value.length > 2 * PAN_MAX_LENGTH) invalid('pan must be a string of digits');
  const pan = value.replace(/[ -]/g, '');
  if (!/^[0-9]+$/.test(pan) || pan.length < PAN_MIN_LENGTH || pan.length > PAN_MAX_LENGTH) {
    invalid(`pan must have ${PAN_MIN_LENGTH} to ${PAN_MAX_LENGTH} digits`);
  }
  return pan;
}

function parseCvc(value: unknown, digits: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length !== digits || !/^[0-9]+$/.test(value)) {
    invalid(`cvc must have ${digits} digits for this card`);
  }
  return value;
}

function parseName(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') invalid('name must be a string');
  const name = value.trim();
  if (name.length === 0 || [...name].length > CARD_NAME_MAX_CHARS || /\p{Cc}/u.test(name)) {
    invalid(`name must have 1 to ${CARD_NAME_MAX_CHARS} characters and no control characters`);
  }
  return name;
}

function invalid(message: string): never {
  throw new InputError('ERR_INVALID_CARD', message);
}
