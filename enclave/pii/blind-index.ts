/**
 * Blind indexes for the `POST /v1/pii/blind-index` operation: a keyed HMAC-SHA256
 * (RFC 2104) of a normalised value, so that equal values written differently join, and nobody
 * without the index key can compute or test a digest.
 *
 *   digest = HMAC-SHA256(indexKey, "enclavekit/v1/blind-index/" ‖ field ‖ 0x00 ‖ UTF-8(normalised))
 *
 * The field label separates the fields: an SSN and a phone number with the same digits do not
 * collide. Output: lower-case hex.
 *
 * Normalisation (a contract: changing it changes every digest):
 * - email: trimmed, lower-cased (full string, local part included: RFC 5321 allows a
 *   case-sensitive local part, but no mainstream provider uses one). Must have one '@' with text
 *   on both sides.
 * - phone: E.164 (ITU-T E.164: '+', country code, at most 15 digits). Spaces, dots, hyphens and
 *   parentheses are dropped; '+CC…' and '00CC…' are international; anything else is a national
 *   number in the default country, DEFAULT_PHONE_COUNTRY_CODE = '1' (NANP) unless configured:
 *   for NANP, 10 digits or 11 starting with the trunk prefix 1; elsewhere one leading trunk '0'
 *   is dropped. Result must have 8 to 15 digits.
 * - ssn: digits only (hyphens and spaces dropped); exactly 9 digits.
 * - name: Unicode NFKC, case-folded (toUpperCase then toLowerCase, then final sigma ς → σ: the
 *   full case folding of Unicode CaseFolding.txt for all but a handful of scripts where it differs),
 *   default-ignorable code points removed (as NFKC_Casefold does), white space collapsed to single
 *   spaces and trimmed.
 *
 * Digests of low-entropy values (SSNs: 10^9) are only as safe as access to this operation: like
 * tokens, they are an oracle for whoever can submit values (docs/architecture.md "Trust model").
 *
 * Key material: the index key is imported once into a node:crypto KeyObject (OpenSSL memory, freed
 * when the object is garbage collected; a KeyObject cannot be zeroed from JavaScript). No
 * JavaScript copy is kept, so the caller may zero its buffer right after construction.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { InputError } from '../../shared/errors.js';

export type BlindIndexField = 'email' | 'phone' | 'ssn' | 'name';
export const BLIND_INDEX_FIELDS: readonly BlindIndexField[] = ['email', 'phone', 'ssn', 'name'];
export const DEFAULT_PHONE_COUNTRY_CODE = '1';
/** Longest value accepted, in UTF-16 code units, before normalisation. */
export const BLIND_INDEX_VALUE_MAX_CHARS = 1024;
export const BLIND_INDEX_KEY_MIN_BYTES = 32;

const DOMAIN_PREFIX = 'enclavekit/v1/blind-index/';

export interface BlindIndexOptions {
  /** Country calling code for phone numbers written without one (digits, 1-3). Default '1'. */
  defaultCountryCode?: string;
}

export class BlindIndexer {
  #key: KeyObject | null;
  readonly #countryCode: string;

  /** @param key the index key, at least 32 bytes; not retained. */
  constructor(key: Uint8Array, options: BlindIndexOptions = {}) {
    if (!(key instanceof Uint8Array) || key.length < BLIND_INDEX_KEY_MIN_BYTES) {
      throw new RangeError(`blind index key must have at least ${BLIND_INDEX_KEY_MIN_BYTES} bytes`);
    }
    const cc = options.defaultCountryCode ?? DEFAULT_PHONE_COUNTRY_CODE;
    if (!/^[1-9][0-9]{0,2}$/.test(cc)) throw new RangeError('defaultCountryCode must be 1-3 digits');
    this.#countryCode = cc;
    this.#key = createSecretKey(key);
  }

  /** Lower-case hex HMAC-SHA256 of the normalised value. Throws InputError ERR_BAD_REQUEST. */
  digest(field: BlindIndexField, value: string): string {
    if (this.#key === null) throw new Error('BlindIndexer has been disposed');
    const normalised = normalise(field, value, this.#countryCode);
    return createHmac('sha256', this.#key).update(`${DOMAIN_PREFIX}${field}\u0000`).update(normalised, 'utf8').digest('hex');
  }

  /** Drops the key reference (see the file comment for what this can and cannot erase). */
  dispose(): void {
    this.#key = null;
  }
}

/** The normalised form of `value` for `field` (exported for tests and documentation). */
export function normalise(field: BlindIndexField, value: string, defaultCountryCode = DEFAULT_PHONE_COUNTRY_CODE): string {
  if (typeof value !== 'string') throw bad(field);
  if (value.length > BLIND_INDEX_VALUE_MAX_CHARS) throw bad(field);
  switch (field) {
    case 'email':
      return normaliseEmail(value);
    case 'phone':
      return normalisePhone(value, defaultCountryCode);
    case 'ssn':
      return normaliseSsn(value);
    case 'name':
      return normaliseName(value);
    default:
      throw new InputError('ERR_BAD_REQUEST', 'unknown blind index field');
  }
}

function normaliseEmail(value: string): string {
  const email = value.trim().toLowerCase();
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1 || /\s/.test(email)) throw bad('email');
  return email;
}

function normalisePhone(value: string, cc: string): string {
  const compact = value.trim().replace(/[ .()-]/g, '');
  let digits: string;
  if (compact.startsWith('+')) digits = compact.slice(1);
  else if (compact.startsWith('00')) digits = compact.slice(2);
  else if (cc === '1') {
    if (/^1[0-9]{10}$/.test(compact)) digits = compact;
    else if (/^[0-9]{10}$/.test(compact)) digits = `1${compact}`;
    else throw bad('phone');
  } else {
    digits = cc + (compact.startsWith('0') ? compact.slice(1) : compact);
  }
  if (!/^[1-9][0-9]{7,14}$/.test(digits)) throw bad('phone');
  return `+${digits}`;
}

function normaliseSsn(value: string): string {
  const digits = value.replace(/[ -]/g, '');
  if (!/^[0-9]{9}$/.test(digits)) throw bad('ssn');
  return digits;
}

function normaliseName(value: string): string {
  const name = value
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .replace(/ς/g, 'σ')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .normalize('NFKC')
    .replace(/\s+/gu, ' ')
    .trim();
  if (name.length === 0) throw bad('name');
  return name;
}

function bad(field: string): InputError {
  // The value itself is never part of the message.
  return new InputError('ERR_BAD_REQUEST', `value is not a valid ${field}`);
}
