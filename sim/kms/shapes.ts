/**
 * Reading AWS JSON 1.1 request members with the KMS model's constraints (botocore
 * kms/2014-11-01/service-2.json). Two failure kinds, as AWS's Coral front end reports them:
 * a member of the wrong JSON type (or a blob that is not base64) is a SerializationException;
 * a well-typed value that breaks a constraint (missing, length, range, enum) is a
 * ValidationException with the Coral message text.
 */
import { constraintViolation, KmsFault, memberPath } from './errors.js';

type Json = Record<string, unknown>;

interface LengthRule { min?: number; max?: number }
interface StringRule extends LengthRule { pattern?: RegExp }
interface RangeRule { min: number; max: number }

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function wrongType(member: string, expected: string): KmsFault {
  return new KmsFault('SerializationException', `Member '${member}' must be ${expected}`);
}

/** Coral writes "Value null at 'x'" for a missing required member. */
function notNull(path: string): KmsFault {
  return new KmsFault(
    'ValidationException',
    `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
  );
}

/** `value`: the offending string, quoted in the message (blobs pass none). */
function checkLength(path: string, length: number, rule: LengthRule, value?: string): void {
  if (rule.min !== undefined && length < rule.min) {
    throw constraintViolation(path, `Member must have length greater than or equal to ${rule.min}`, value);
  }
  if (rule.max !== undefined && length > rule.max) {
    throw constraintViolation(path, `Member must have length less than or equal to ${rule.max}`, value);
  }
}

/** A parsed request body, read member by member. Unknown members are ignored, as KMS does. */
export class RequestShape {
  private readonly body: Json;
  /** Path of this structure in Coral messages, e.g. `recipient.` (empty at the top). */
  private readonly prefix: string;

  constructor(body: Json, prefix = '') {
    this.body = body;
    this.prefix = prefix;
  }

  private path(member: string): string {
    return memberPath(this.prefix, member);
  }

  /** Parses the raw body. An empty body counts as `{}` (the SDK sends `{}` for no members). */
  static parse(raw: Buffer): RequestShape {
    const text = raw.toString('utf8').trim();
    if (text === '') return new RequestShape({});
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new KmsFault('SerializationException', 'The request body is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new KmsFault('SerializationException', 'The request body must be a JSON object');
    }
    return new RequestShape(value as Json);
  }

  private raw(member: string): unknown {
    const value = Object.hasOwn(this.body, member) ? this.body[member] : undefined;
    return value === null ? undefined : value;
  }

  has(member: string): boolean {
    return this.raw(member) !== undefined;
  }

  string(member: string, rule: StringRule & { required: true }): string;
  string(member: string, rule?: StringRule & { required?: false }): string | undefined;
  string(member: string, rule: StringRule & { required?: boolean } = {}): string | undefined {
    const value = this.raw(member);
    if (value === undefined) {
      if (rule.required === true) throw notNull(this.path(member));
      return undefined;
    }
    if (typeof value !== 'string') throw wrongType(member, 'a string');
    checkLength(this.path(member), value.length, rule, value);
    if (rule.pattern !== undefined && !rule.pattern.test(value)) {
      throw constraintViolation(this.path(member), `Member must satisfy regular expression pattern: ${rule.pattern.source}`, value);
    }
    return value;
  }

  /** A base64 blob. The length rule applies to the decoded bytes, as in the model. */
  blob(member: string, rule: LengthRule & { required: true }): Buffer;
  blob(member: string, rule?: LengthRule & { required?: false }): Buffer | undefined;
  blob(member: string, rule: LengthRule & { required?: boolean } = {}): Buffer | undefined {
    const value = this.raw(member);
    if (value === undefined) {
      if (rule.required === true) throw notNull(this.path(member));
      return undefined;
    }
    if (typeof value !== 'string') throw wrongType(member, 'a base64-encoded string');
    // Decoded length is known before decoding: refuse oversize blobs without allocating them.
    const approx = Math.floor((value.length * 3) / 4);
    if (rule.max !== undefined && approx > rule.max + 2) checkLength(this.path(member), approx, rule);
    if (!BASE64.test(value)) throw wrongType(member, 'a base64-encoded string');
    const bytes = Buffer.from(value, 'base64');
    checkLength(this.path(member), bytes.length, rule);
    return bytes;
  }

  integer(member: string, rule: RangeRule): number | undefined {
    const value = this.raw(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(member, 'an integer');
    if (value < rule.min) throw constraintViolation(this.path(member), `Member must have value greater than or equal to ${rule.min}`, value);
    if (value > rule.max) throw constraintViolation(this.path(member), `Member must have value less than or equal to ${rule.max}`, value);
    return value;
  }

  boolean(member: string): boolean | undefined {
    const value = this.raw(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw wrongType(member, 'a boolean');
    return value;
  }

  enumOf<T extends string>(member: string, values: readonly T[]): T | undefined {
    const value = this.string(member);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw constraintViolation(this.path(member), `Member must satisfy enum value set: [${values.join(', ')}]`, value);
    }
    return value as T;
  }

  /** A map of string to string (EncryptionContext). */
  stringMap(member: string): Record<string, string> {
    const value = this.raw(member);
    if (value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(member, 'a map of strings');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value as Json)) {
      if (typeof v !== 'string') throw wrongType(member, 'a map of strings');
      out[k] = v;
    }
    return out;
  }

  stringList(member: string, rule: { maxItems: number }): string[] {
    const value = this.raw(member);
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      throw wrongType(member, 'a list of strings');
    }
    if (value.length > rule.maxItems) {
      throw constraintViolation(this.path(member), `Member must have length less than or equal to ${rule.maxItems}`);
    }
    return value as string[];
  }

  /** A list of structures (e.g. Tags). */
  structureList(member: string): RequestShape[] {
    const value = this.raw(member);
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw wrongType(member, 'a list of structures');
    }
    return value.map((v) => new RequestShape(v as Json, `${this.path(member)}.member.`));
  }

  structure(member: string): RequestShape | undefined {
    const value = this.raw(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw wrongType(member, 'a structure');
    return new RequestShape(value as Json, `${this.path(member)}.`);
  }
}
