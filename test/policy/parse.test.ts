import { describe, expect, it } from 'vitest';
import { InputError } from '../../shared/errors.js';
import { KEY_POLICY_MAX_BYTES, parseKeyPolicy } from '../../sim/kms/policy/index.js';

const ok = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/enclave' }, Action: 'kms:Decrypt', Resource: '*' };
const doc = (statement: unknown, extra: Record<string, unknown> = {}) => ({ Version: '2012-10-17', Statement: statement, ...extra });
const without = (key: string) => Object.fromEntries(Object.entries(ok).filter(([k]) => k !== key));

// [name, input, a fragment the message must contain (naming the element)]
const malformed: [string, unknown, string][] = [
  ['not JSON', '{"Version": ', 'not valid JSON'],
  ['a JSON array', '[]', 'must be a JSON object'],
  ['null', null, 'must be a JSON object'],
  ['unknown top-level element', doc(ok, { Extra: 1 }), '"Extra"'],
  ['bad Version', doc(ok, { Version: '2020-01-01' }), 'Version'],
  ['Id not a string', doc(ok, { Id: 5 }), 'Id'],
  ['no Statement', { Version: '2012-10-17' }, 'Statement is missing'],
  ['empty Statement list', doc([]), 'Statement is an empty list'],
  ['empty statement', doc({}), 'Statement[0] is empty'],
  ['statement not an object', doc(['x']), 'Statement[0] must be an object'],
  ['unknown statement element', doc({ ...ok, Effects: 'Allow' }), '"Effects"'],
  ['lower-case element name', doc({ ...without('Effect'), effect: 'Allow' }), '"effect"'],
  ['Sid not a string', doc({ ...ok, Sid: 1 }), 'Sid'],
  ['Effect missing', doc(without('Effect')), 'Effect is missing'],
  ['Effect misspelt', doc({ ...ok, Effect: 'allow' }), 'Effect must be'],
  ['Principal missing', doc(without('Principal')), 'neither Principal nor NotPrincipal'],
  ['Principal and NotPrincipal', doc({ ...ok, NotPrincipal: '*' }), 'both Principal and NotPrincipal'],
  ['Principal a plain ARN string', doc({ ...ok, Principal: 'arn:aws:iam::111122223333:root' }), 'Principal must be "*" or an object'],
  ['Principal empty object', doc({ ...ok, Principal: {} }), 'Principal is empty'],
  ['unknown principal type', doc({ ...ok, Principal: { User: 'x' } }), '"User"'],
  ['principal with a partial wildcard', doc({ ...ok, Principal: { AWS: 'arn:aws:iam::111122223333:role/*' } }), 'no partial wildcards'],
  ['principal not an ARN', doc({ ...ok, Principal: { AWS: 'enclave' } }), 'Principal.AWS'],
  ['principal list empty', doc({ ...ok, Principal: { AWS: [] } }), 'empty list'],
  ['principal list with a number', doc({ ...ok, Principal: { AWS: [111122223333] } }), 'Principal.AWS[0] must be a string'],
  ['Action missing', doc(without('Action')), 'neither Action nor NotAction'],
  ['Action and NotAction', doc({ ...ok, NotAction: 'kms:Encrypt' }), 'both Action and NotAction'],
  ['Action without a service', doc({ ...ok, Action: 'Decrypt' }), 'is not an action'],
  ['Action a number', doc({ ...ok, Action: 3 }), 'Action must be a string'],
  ['Action empty list', doc({ ...ok, Action: [] }), 'Action is an empty list'],
  ['Resource missing', doc(without('Resource')), 'neither Resource nor NotResource'],
  ['Resource not an ARN', doc({ ...ok, Resource: 'key/1' }), 'Resource'],
  ['Condition not an object', doc({ ...ok, Condition: [] }), 'Condition must be an object'],
  ['unknown operator', doc({ ...ok, Condition: { StringEqual: { 'kms:ViaService': 'x' } } }), '"StringEqual"'],
  ['unsupported operator', doc({ ...ok, Condition: { NumericLessThan: { 'kms:x': '1' } } }), 'not evaluated by the enclavekit simulator'],
  ['operator block empty', doc({ ...ok, Condition: { StringEquals: {} } }), 'StringEquals is empty'],
  ['operator block not an object', doc({ ...ok, Condition: { StringEquals: 'x' } }), 'must be an object of condition keys'],
  ['invalid condition key', doc({ ...ok, Condition: { StringEquals: { ViaService: 'x' } } }), 'invalid condition key'],
  ['attestation key out of range', doc({ ...ok, Condition: { StringEquals: { 'kms:RecipientAttestation:PCR32': 'x' } } }), 'PCR0..PCR31'],
  ['attestation key unknown', doc({ ...ok, Condition: { StringEquals: { 'kms:RecipientAttestation:ImageSha256': 'x' } } }), 'ImageSha384'],
  ['condition value null', doc({ ...ok, Condition: { StringEquals: { 'kms:ViaService': null } } }), 'must be a string, number or boolean'],
  ['condition value object', doc({ ...ok, Condition: { StringEquals: { 'kms:ViaService': {} } } }), 'must be a string, number or boolean'],
  ['condition values empty list', doc({ ...ok, Condition: { StringEquals: { 'kms:ViaService': [] } } }), 'is an empty list'],
  ['Bool with a non-boolean', doc({ ...ok, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }), 'Bool takes "true" or "false"'],
  ['Null with IfExists', doc({ ...ok, Condition: { NullIfExists: { 'kms:ViaService': 'true' } } }), 'Null takes neither'],
  ['Null with a set prefix', doc({ ...ok, Condition: { 'ForAnyValue:Null': { 'kms:ViaService': 'true' } } }), 'Null takes neither'],
  ['too large', JSON.stringify(doc(ok, { Id: 'x'.repeat(KEY_POLICY_MAX_BYTES) })), 'exceeds 32768 bytes'],
];

describe('parseKeyPolicy refuses malformed documents, naming the element', () => {
  it.each(malformed)('%s', (_name, input, fragment) => {
    let thrown: unknown;
    try {
      parseKeyPolicy(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).code).toBe('ERR_POLICY_MALFORMED');
    expect((thrown as InputError).message).toContain(fragment);
  });

  it('names the statement by Sid when it has one', () => {
    expect(() => parseKeyPolicy(doc([ok, { ...ok, Sid: 'Second', Action: 'Decrypt' }]))).toThrow(/Statement\[1\] \(Sid "Second"\)\.Action/);
  });
});

describe('parseKeyPolicy accepts the documented forms', () => {
  it('statement as an object or an array, string or object input, Version optional', () => {
    const a = parseKeyPolicy(doc(ok));
    const b = parseKeyPolicy(JSON.stringify(doc([ok])));
    const c = parseKeyPolicy({ Statement: ok });
    for (const p of [a, b, c]) expect(p.statements).toHaveLength(1);
    expect(c.version).toBeUndefined();
    expect(a.statements[0]!.label).toBe('Statement[0]');
  });

  it('keeps operator, set prefix, IfExists and values; numbers and booleans become text', () => {
    const p = parseKeyPolicy(doc({ ...ok, Sid: 'S', Condition: { 'ForAllValues:StringLikeIfExists': { 'kms:EncryptionContextKeys': ['a*', 1, true] } } }));
    expect(p.statements[0]!.conditions[0]).toEqual({
      operator: 'ForAllValues:StringLikeIfExists',
      base: 'StringLike',
      set: 'ForAllValues',
      ifExists: true,
      key: 'kms:EncryptionContextKeys',
      keyLower: 'kms:encryptioncontextkeys',
      values: ['a*', '1', 'true'],
    });
    expect(p.statements[0]!.label).toBe('S');
  });

  it('is frozen', () => {
    const p = parseKeyPolicy(doc(ok));
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.statements[0]!.action.patterns)).toBe(true);
  });

  it('warns about upper-case PCR hex under a case-sensitive operator and about ForAllValues in an Allow', () => {
    const upper = 'A'.repeat(96);
    const p = parseKeyPolicy(doc([
      { ...ok, Condition: { StringEquals: { 'kms:RecipientAttestation:PCR0': upper } } },
      { ...ok, Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': upper } } },
      { ...ok, Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'a' } } },
    ]));
    expect(p.warnings).toHaveLength(2);
    expect(p.warnings[0]).toMatch(/Statement\[0\].*upper-case hex/);
    expect(p.warnings[1]).toMatch(/Statement\[2\].*also true when the request has no value/);
  });
});
