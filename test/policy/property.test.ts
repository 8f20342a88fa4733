import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../shared/errors.js';
import { evaluateKeyPolicy, KMS_ACTIONS, parseKeyPolicy, type ConditionValue, type KeyPolicy, type PolicyRequest } from '../../sim/kms/policy/index.js';
import { ACCOUNT, ENCLAVE_ROLE, KEY_ARN } from './helpers.js';

const OTHER = '444455556666';
const PRINCIPALS = [
  ENCLAVE_ROLE,
  `arn:aws:iam::${ACCOUNT}:role/client`,
  `arn:aws:sts::${ACCOUNT}:assumed-role/enclave/i-0abc`,
  `arn:aws:iam::${OTHER}:role/rds`,
  `arn:aws:iam::${ACCOUNT}:user/alice`,
];
const KEYS = [
  'kms:ViaService', 'kms:CallerAccount', 'kms:RecipientAttestation:PCR0', 'kms:RecipientAttestation:ImageSha384',
  'kms:EncryptionContextKeys', 'kms:EncryptionContext:tenant', 'aws:PrincipalArn', 'KMS:VIASERVICE', 'kms:GrantIsForAWSResource',
];
const BASES = [
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
  'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'Bool', 'Null', 'NumericEquals', 'StringEqual',
];

const text = fc.oneof(
  fc.constantFrom('a', 'A', 'true', 'false', 'rds.*', '*', '?', 'arn:aws:iam::*:role/enclave', ENCLAVE_ROLE, ACCOUNT, 'tenant'),
  fc.string({ maxLength: 6 }),
);
const patterns = (pool: string[]) => fc.oneof(fc.constantFrom(...pool), fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }));
const principalValue = fc.constantFrom(...PRINCIPALS, '*', `arn:aws:iam::${ACCOUNT}:root`, ACCOUNT, `arn:aws:iam::${OTHER}:root`);
const principal = fc.oneof(fc.constant('*'), fc.record({ AWS: fc.oneof(principalValue, fc.array(principalValue, { minLength: 1, maxLength: 3 })) }));
const actions = patterns(['kms:*', '*', 'kms:Decrypt', 'kms:Generate*', 'KMS:encrypt', 'kms:?ecrypt', 'kms:Create*']);
const resources = patterns(['*', KEY_ARN, 'arn:aws:kms:*:*:key/*', 'arn:aws:kms:us-east-1:1:key/x']);

/** Well-formed statements: exactly one of each element pair, valid operators and values. */
const goodValue = fc.oneof(text, fc.boolean(), fc.integer());
const goodOperator = fc
  .tuple(fc.constantFrom('', 'ForAnyValue:', 'ForAllValues:'), fc.constantFrom(...BASES.slice(0, 11)), fc.constantFrom('', 'IfExists'))
  .map(([set, base, ifExists]) => `${set}${base}${ifExists}`);
const goodCondition = fc.dictionary(
  goodOperator,
  fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(goodValue, fc.array(goodValue, { minLength: 1, maxLength: 3 })), { minKeys: 1, maxKeys: 3 }),
  { maxKeys: 3 },
);
const boolCondition = fc.record({
  Bool: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom('true', 'false', true), { minKeys: 1, maxKeys: 2 }),
  Null: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom('true', 'false', false), { minKeys: 1, maxKeys: 2 }),
}, { requiredKeys: [] });
const goodStatement = fc
  .record({
    sid: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
    effect: fc.constantFrom('Allow', 'Deny'),
    notPrincipal: fc.boolean(),
    principal,
    notAction: fc.boolean(),
    action: actions,
    notResource: fc.boolean(),
    resource: resources,
    condition: fc.option(fc.oneof(goodCondition, boolCondition), { nil: undefined }),
  })
  .map((s) => ({
    ...(s.sid === undefined ? {} : { Sid: s.sid }),
    Effect: s.effect,
    [s.notPrincipal ? 'NotPrincipal' : 'Principal']: s.principal,
    [s.notAction ? 'NotAction' : 'Action']: s.action,
    [s.notResource ? 'NotResource' : 'Resource']: s.resource,
    ...(s.condition === undefined ? {} : { Condition: s.condition }),
  }));

/** Loose statements: any subset of elements, bad spellings, bad operators and values. */
const looseValue = fc.oneof(text, fc.boolean(), fc.integer(), fc.constant(null), fc.constant({}));
const looseOperator = fc
  .tuple(fc.constantFrom('', 'ForAnyValue:', 'ForAllValues:'), fc.constantFrom(...BASES), fc.constantFrom('', 'IfExists'))
  .map(([set, base, ifExists]) => `${set}${base}${ifExists}`);
const looseStatement = fc.record(
  {
    Sid: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
    Effect: fc.constantFrom('Allow', 'Deny', 'allow'),
    Principal: fc.oneof(principal, fc.constant('bogus'), fc.record({ AWS: fc.constantFrom('bogus', 'arn:aws:iam::1:role/*') })),
    NotPrincipal: fc.record({ AWS: principalValue }),
    Action: fc.oneof(actions, fc.constant('Decrypt'), fc.constant([])),
    NotAction: patterns(['kms:Decrypt']),
    Resource: fc.oneof(resources, fc.constant('key')),
    Condition: fc.dictionary(looseOperator, fc.dictionary(fc.constantFrom(...KEYS, 'bad key'), fc.oneof(looseValue, fc.array(looseValue, { maxLength: 3 })), { maxKeys: 3 }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);
const statement = fc.oneof({ weight: 6, arbitrary: goodStatement }, { weight: 1, arbitrary: looseStatement });

/** Mostly well-formed policies, some with junk injected at a random element, some arbitrary JSON. */
const policyDocument = fc.oneof(
  { weight: 8, arbitrary: fc.record({ Version: fc.constantFrom('2012-10-17', '2008-10-17'), Statement: fc.oneof(statement, fc.array(statement, { minLength: 1, maxLength: 4 })) }, { requiredKeys: ['Statement'] }) },
  { weight: 1, arbitrary: fc.tuple(fc.array(statement, { maxLength: 3 }), fc.constantFrom('Statement', 'Version', 'Id', 'Junk'), fc.jsonValue()).map(([s, key, junk]) => ({ Statement: s, [key]: junk })) },
  { weight: 1, arbitrary: fc.jsonValue() },
);

const requestValue: fc.Arbitrary<ConditionValue> = fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.boolean(), fc.constant(undefined));
const request: fc.Arbitrary<PolicyRequest> = fc.record({
  principalArn: fc.oneof(fc.constantFrom(...PRINCIPALS), fc.string({ maxLength: 10 })),
  action: fc.oneof(fc.constantFrom(...KMS_ACTIONS), fc.string({ maxLength: 10 })),
  resource: fc.oneof(fc.constant(KEY_ARN), fc.string({ maxLength: 10 })),
  values: fc.dictionary(fc.constantFrom(...KEYS), requestValue, { maxKeys: 5 }),
});

function tryParse(input: unknown): KeyPolicy | undefined {
  try {
    return parseKeyPolicy(input);
  } catch (error) {
    // The only acceptable failure: the typed error KMS maps to MalformedPolicyDocumentException.
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('ERR_POLICY_MALFORMED');
    return undefined;
  }
}

describe('key-policy properties (fast-check, fixed seed)', () => {
  it('random documents and requests: parse throws only ERR_POLICY_MALFORMED; evaluation never throws and is consistent', () => {
    let parsed = 0;
    fc.assert(
      fc.property(policyDocument, fc.boolean(), request, (doc, asString, req) => {
        const policy = tryParse(asString ? JSON.stringify(doc) ?? 'undefined' : doc);
        if (policy === undefined) return;
        parsed++;
        const d = evaluateKeyPolicy(policy, req);
        expect(d.statements).toHaveLength(policy.statements.length);
        expect(d.allowed).toBe(d.reason === 'explicit-allow');
        const appliedDeny = d.statements.some((t) => t.applied && t.effect === 'Deny');
        const appliedAllow = d.statements.some((t) => t.applied && t.effect === 'Allow');
        expect(d.reason).toBe(appliedDeny ? 'explicit-deny' : appliedAllow ? 'explicit-allow' : 'implicit-deny');
        for (const t of d.statements) expect(t.applied).toBe(t.principalMatched && t.actionMatched && t.resourceMatched && t.failures.length === 0);
      }),
      { seed: 42, numRuns: 1500 },
    );
    // The generator must reach the evaluator often enough for the property to mean something.
    expect(parsed).toBeGreaterThan(200);
  });

  it('adding a Deny statement that matches the request always denies', () => {
    const matchingDeny = fc.record({
      principal: fc.constantFrom('star', 'awsStar', 'exact', 'root'),
      action: fc.constantFrom('*', 'kms:*', 'exact', 'upper'),
      resource: fc.constantFrom('*', 'exact'),
      condition: fc.constantFrom('none', 'equalsPresent', 'nullAbsent', 'notEqualsOther'),
      first: fc.boolean(),
    });
    const validRequest = fc.record({
      principalArn: fc.constantFrom(...PRINCIPALS),
      action: fc.constantFrom(...KMS_ACTIONS),
      resource: fc.constant(KEY_ARN),
      values: fc.dictionary(fc.constantFrom(...KEYS.slice(0, 7)), requestValue, { maxKeys: 5 }),
    });
    let checked = 0;
    let wasAllowed = 0;
    fc.assert(
      fc.property(policyDocument, validRequest, matchingDeny, (doc, req, deny) => {
        const base = tryParse(doc);
        if (base === undefined) return;
        checked++;
        if (evaluateKeyPolicy(base, req).allowed) wasAllowed++;
        const account = req.principalArn.split(':')[4]!;
        const principal = { star: '*', awsStar: { AWS: '*' }, exact: { AWS: req.principalArn }, root: { AWS: `arn:aws:iam::${account}:root` } }[deny.principal];
        const action = { '*': '*', 'kms:*': 'kms:*', exact: req.action, upper: req.action.toUpperCase() }[deny.action];
        const stringKey = Object.entries(req.values).find(([, v]) => typeof v === 'string');
        const absentKey = KEYS.find((k) => req.values[k] === undefined && !Object.keys(req.values).some((r) => r.toLowerCase() === k.toLowerCase()));
        const condition =
          deny.condition === 'equalsPresent' && stringKey !== undefined ? { StringEquals: { [stringKey[0]]: stringKey[1] } }
          : deny.condition === 'nullAbsent' && absentKey !== undefined ? { Null: { [absentKey]: 'true' } }
          : deny.condition === 'notEqualsOther' ? { StringNotEquals: { 'kms:ViaService': '\u0000never' } }
          : undefined;
        const denyStatement = { Sid: 'AddedDeny', Effect: 'Deny', Principal: principal, Action: action, Resource: deny.resource === '*' ? '*' : req.resource, ...(condition ? { Condition: condition } : {}) };
        const original = (Array.isArray((doc as { Statement: unknown }).Statement) ? (doc as { Statement: unknown[] }).Statement : [(doc as { Statement: unknown }).Statement]);
        const statements = deny.first ? [denyStatement, ...original] : [...original, denyStatement];
        const withDeny = parseKeyPolicy({ ...(doc as object), Statement: statements });
        const d = evaluateKeyPolicy(withDeny, req);
        expect(d.allowed).toBe(false);
        expect(d.reason).toBe('explicit-deny');
        expect(d.statements.find((t) => t.statement === 'AddedDeny')!.applied).toBe(true);
      }),
      { seed: 42, numRuns: 1500 },
    );
    expect(checked).toBeGreaterThan(200);
    // Some of the base policies allowed the request: the added Deny really turned allows into denies.
    expect(wasAllowed).toBeGreaterThan(20);
  });
});
