import { describe, expect, it } from 'vitest';
import type { ConditionValue } from '../../sim/kms/policy/index.js';
import { evaluateCondition } from './helpers.js';

// Verdicts follow "IAM JSON policy elements: Condition operators" (absent keys: false, except negated
// operators, ...IfExists and Null) and "Conditions with multiple context keys or values" (values OR,
// negated NOR; ForAllValues true on an absent key). Cases 'doc:' reproduce tables in those pages.
type Case = [name: string, operator: string, key: string, policy: unknown, request: ConditionValue, verdict: boolean];

const VIA = 'kms:ViaService';
const KEYS = 'kms:EncryptionContextKeys';
const ABSENT = undefined;

const cases: Case[] = [
  ['StringEquals equal', 'StringEquals', VIA, 'a', 'a', true],
  ['StringEquals is case-sensitive', 'StringEquals', VIA, 'a', 'A', false],
  ['StringEquals values OR', 'StringEquals', VIA, ['a', 'b'], 'b', true],
  ['StringEquals none of the values', 'StringEquals', VIA, ['a', 'b'], 'c', false],
  ['StringEquals absent key is false', 'StringEquals', VIA, 'a', ABSENT, false],
  ['StringEquals boolean policy value compared as text', 'StringEquals', VIA, true, 'true', true],
  ['StringNotEquals differs', 'StringNotEquals', VIA, 'a', 'b', true],
  ['StringNotEquals values NOR', 'StringNotEquals', VIA, ['a', 'b'], 'b', false],
  ['StringNotEquals absent key is true', 'StringNotEquals', VIA, 'a', ABSENT, true],
  ['StringEqualsIgnoreCase', 'StringEqualsIgnoreCase', VIA, 'ABC', 'abc', true],
  ['StringEqualsIgnoreCase differs', 'StringEqualsIgnoreCase', VIA, 'ABC', 'abd', false],
  ['StringNotEqualsIgnoreCase same but case', 'StringNotEqualsIgnoreCase', VIA, 'ABC', 'abc', false],
  ['StringNotEqualsIgnoreCase absent key is true', 'StringNotEqualsIgnoreCase', VIA, 'ABC', ABSENT, true],
  ['StringLike *', 'StringLike', VIA, 'rds.*.amazonaws.com', 'rds.us-west-2.amazonaws.com', true],
  ['StringLike * no match', 'StringLike', VIA, 'rds.*.amazonaws.com', 'ec2.us-west-2.amazonaws.com', false],
  ['StringLike ? is one character', 'StringLike', VIA, 'a?c', 'abc', true],
  ['StringLike ? is not zero characters', 'StringLike', VIA, 'a?c', 'ac', false],
  ['StringLike is case-sensitive', 'StringLike', VIA, 'a*', 'ABC', false],
  ['StringLike absent key is false', 'StringLike', VIA, '*', ABSENT, false],
  ['StringNotLike matching', 'StringNotLike', VIA, 'a*', 'abc', false],
  ['StringNotLike not matching', 'StringNotLike', VIA, 'a*', 'xbc', true],
  ['StringNotLike absent key is true', 'StringNotLike', VIA, 'a*', ABSENT, true],
  ['StringEqualsIfExists absent', 'StringEqualsIfExists', VIA, 'a', ABSENT, true],
  ['StringEqualsIfExists present and different', 'StringEqualsIfExists', VIA, 'a', 'b', false],
  ['StringEqualsIfExists present and equal', 'StringEqualsIfExists', VIA, 'a', 'a', true],
  ['StringNotEqualsIfExists present and equal', 'StringNotEqualsIfExists', VIA, 'a', 'a', false],
  ['StringLikeIfExists absent', 'StringLikeIfExists', VIA, 'x*', ABSENT, true],
  ['Null true on absent key', 'Null', VIA, 'true', ABSENT, true],
  ['Null true on present key', 'Null', VIA, 'true', 'x', false],
  ['Null false on absent key', 'Null', VIA, 'false', ABSENT, false],
  ['Null false on present key', 'Null', VIA, 'false', 'x', true],
  ['Null false on an empty set', 'Null', KEYS, 'false', [], false],
  ['Null true with a JSON boolean', 'Null', VIA, true, ABSENT, true],
  ['Bool true', 'Bool', 'kms:GrantIsForAWSResource', 'true', true, true],
  ['Bool false value', 'Bool', 'kms:GrantIsForAWSResource', 'true', false, false],
  ['Bool string request value', 'Bool', 'kms:GrantIsForAWSResource', 'true', 'true', true],
  ['Bool absent is false', 'Bool', 'kms:GrantIsForAWSResource', 'true', ABSENT, false],
  ['BoolIfExists absent is true', 'BoolIfExists', 'kms:GrantIsForAWSResource', 'true', ABSENT, true],
  ['ForAnyValue one member matches', 'ForAnyValue:StringEquals', KEYS, 'purpose', ['purpose', 'x'], true],
  ['ForAnyValue no member matches', 'ForAnyValue:StringEquals', KEYS, 'purpose', ['x'], false],
  ['ForAnyValue absent key is false', 'ForAnyValue:StringEquals', KEYS, 'purpose', ABSENT, false],
  ['ForAnyValue empty set is false', 'ForAnyValue:StringEquals', KEYS, 'purpose', [], false],
  ['ForAnyValue IfExists absent is true', 'ForAnyValue:StringEqualsIfExists', KEYS, 'purpose', ABSENT, true],
  ['ForAllValues subset', 'ForAllValues:StringEquals', KEYS, ['purpose', 'tenant'], ['purpose'], true],
  ['ForAllValues not a subset', 'ForAllValues:StringEquals', KEYS, ['purpose', 'tenant'], ['purpose', 'x'], false],
  ['ForAllValues absent key is true', 'ForAllValues:StringEquals', KEYS, 'purpose', ABSENT, true],
  ['ForAllValues empty set is true', 'ForAllValues:StringEquals', KEYS, 'purpose', [], true],
  ['doc: ForAllValues:StringNotLike key1:legal', 'ForAllValues:StringNotLike', KEYS, 'key1*', ['key1:legal'], false],
  ['doc: ForAllValues:StringNotLike two key1', 'ForAllValues:StringNotLike', KEYS, 'key1*', ['key1:hr', 'key1:personnel'], false],
  ['doc: ForAllValues:StringNotLike key2:audit', 'ForAllValues:StringNotLike', KEYS, 'key1*', ['key2:audit'], true],
  ['doc: ForAllValues:StringNotLike absent', 'ForAllValues:StringNotLike', KEYS, 'key1*', ABSENT, true],
  ['ForAnyValue:StringNotEquals one member outside', 'ForAnyValue:StringNotEquals', KEYS, 'a', ['a', 'b'], true],
  ['ForAnyValue:StringNotEquals all inside', 'ForAnyValue:StringNotEquals', KEYS, 'a', ['a'], false],
  ['ForAnyValue:StringNotEquals absent', 'ForAnyValue:StringNotEquals', KEYS, 'a', ABSENT, false],
  ['ForAllValues:StringNotEquals none inside', 'ForAllValues:StringNotEquals', KEYS, 'a', ['b', 'c'], true],
  ['ForAllValues:StringNotEquals one inside', 'ForAllValues:StringNotEquals', KEYS, 'a', ['a', 'b'], false],
  ['plain operator on a set: any member', 'StringEquals', KEYS, 'a', ['x', 'a'], true],
  ['plain negated operator on a set: no member', 'StringNotEquals', KEYS, 'a', ['x', 'a'], false],
  ['ArnLike wildcard account', 'ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:role/enclave', 'arn:aws:iam::111122223333:role/enclave', true],
  ['ArnLike other role', 'ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:role/enclave', 'arn:aws:iam::111122223333:role/other', false],
  ['ArnEquals is component-wise', 'ArnEquals', 'aws:PrincipalArn', 'arn:aws:iam::111122223333:role/*', 'arn:aws:iam::111122223333:role/a/b', true],
  ['ArnLike * does not cross components', 'ArnLike', 'aws:PrincipalArn', 'arn:aws:*', 'arn:aws:iam::111122223333:role/a', false],
  ['ArnLike non-ARN request value', 'ArnLike', 'aws:PrincipalArn', 'arn:*:*:*:*:*', 'not-an-arn', false],
  ['ArnNotLike absent is true', 'ArnNotLike', 'aws:PrincipalArn', 'arn:*:*:*:*:*', ABSENT, true],
];

describe('condition operators (IAM semantics)', () => {
  it.each(cases)('%s', (_name, operator, key, policy, request, verdict) => {
    const decision = evaluateCondition({ [operator]: { [key]: policy } }, { [key]: request });
    expect(decision.allowed).toBe(verdict);
    if (!verdict) {
      expect(decision.failures).toHaveLength(1);
      expect(decision.failures[0]).toMatchObject({ statement: 'Under test', operator, key });
      expect(decision.failures[0]!.actual).toEqual(request);
    }
  });
});

describe('condition key names', () => {
  it('are case-insensitive (policy and request spell them differently)', () => {
    expect(evaluateCondition({ StringEquals: { 'KMS:VIASERVICE': 'a' } }, { 'kms:ViaService': 'a' }).allowed).toBe(true);
    expect(evaluateCondition({ StringEquals: { 'KMS:VIASERVICE': 'a' } }, { 'kms:ViaService': 'b' }).allowed).toBe(false);
    const pcr = evaluateCondition({ StringEqualsIgnoreCase: { 'kms:recipientattestation:pcr0': 'AB' } }, { 'kms:RecipientAttestation:PCR0': 'ab' });
    expect(pcr.allowed).toBe(true);
  });
});

describe('combining conditions', () => {
  const values = { 'kms:ViaService': 'rds.us-west-2.amazonaws.com', 'kms:CallerAccount': '444455556666' };

  it('keys under one operator AND', () => {
    expect(evaluateCondition({ StringEquals: { 'kms:ViaService': 'rds.us-west-2.amazonaws.com', 'kms:CallerAccount': '444455556666' } }, values).allowed).toBe(true);
    const d = evaluateCondition({ StringEquals: { 'kms:ViaService': 'rds.us-west-2.amazonaws.com', 'kms:CallerAccount': '999999999999' } }, values);
    expect(d.allowed).toBe(false);
    expect(d.failures.map((f) => f.key)).toEqual(['kms:CallerAccount']);
  });

  it('operators AND, and every failing one is reported', () => {
    const d = evaluateCondition(
      { StringEquals: { 'kms:CallerAccount': '999999999999' }, StringLike: { 'kms:ViaService': 'ec2.*' } },
      values,
    );
    expect(d.allowed).toBe(false);
    expect(d.failures).toEqual([
      { statement: 'Under test', operator: 'StringEquals', key: 'kms:CallerAccount', expected: ['999999999999'], actual: '444455556666' },
      { statement: 'Under test', operator: 'StringLike', key: 'kms:ViaService', expected: ['ec2.*'], actual: 'rds.us-west-2.amazonaws.com' },
    ]);
  });

  it('request keys differing only by case are both seen', () => {
    const d = evaluateCondition({ 'ForAllValues:StringEquals': { 'kms:EncryptionContext:Tenant': ['a', 'b'] } }, {
      'kms:EncryptionContext:Tenant': 'a',
      'kms:EncryptionContext:tenant': 'c',
    });
    expect(d.allowed).toBe(false);
    expect(d.failures[0]!.actual).toEqual(['a', 'c']);
  });
});
