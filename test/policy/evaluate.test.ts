import { describe, expect, it } from 'vitest';
import {
  accessDeniedMessage,
  callerConditionValues,
  evaluateKeyPolicy,
  parseKeyPolicy,
  type ConditionValue,
} from '../../sim/kms/policy/index.js';
import { ACCOUNT, ENCLAVE_ROLE, KEY_ARN } from './helpers.js';

const OTHER = '444455556666';

function decide(statement: Record<string, unknown> | Record<string, unknown>[], request: { principal?: string; action?: string; resource?: string; values?: Record<string, ConditionValue> } = {}) {
  const policy = parseKeyPolicy({ Version: '2012-10-17', Statement: statement });
  return evaluateKeyPolicy(policy, {
    principalArn: request.principal ?? ENCLAVE_ROLE,
    action: request.action ?? 'kms:Decrypt',
    resource: request.resource ?? KEY_ARN,
    values: request.values ?? {},
  });
}

const allow = (extra: Record<string, unknown>) => ({ Effect: 'Allow', Principal: { AWS: ENCLAVE_ROLE }, Action: 'kms:Decrypt', Resource: '*', ...extra });

type Case = [name: string, statement: Record<string, unknown>, request: Parameters<typeof decide>[1], verdict: boolean];

const cases: Case[] = [
  // Principal
  ['Principal "*"', allow({ Principal: '*' }), { principal: `arn:aws:iam::${OTHER}:role/x` }, true],
  ['Principal {"AWS": "*"}', allow({ Principal: { AWS: '*' } }), { principal: `arn:aws:iam::${OTHER}:user/x` }, true],
  ['exact role', allow({}), {}, true],
  ['other role of the same account', allow({}), { principal: `arn:aws:iam::${ACCOUNT}:role/client` }, false],
  ['role listed in an array', allow({ Principal: { AWS: ['arn:aws:iam::111122223333:role/a', ENCLAVE_ROLE] } }), {}, true],
  ['role matches its assumed-role session', allow({}), { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave/i-0123456789abcdef0` }, true],
  ['role with a path matches its session', allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/ops/enclave` } }), { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/enclave/s` }, true],
  ['session of another role', allow({}), { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/parent/s` }, false],
  ['session of the same role name in another account', allow({}), { principal: `arn:aws:sts::${OTHER}:assumed-role/enclave/s` }, false],
  ['account root matches any principal of the account', allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }), { principal: `arn:aws:iam::${ACCOUNT}:role/anything` }, true],
  ['account root matches sessions of the account', allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }), { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s` }, true],
  ['account root does not match another account', allow({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }), { principal: `arn:aws:iam::${OTHER}:role/anything` }, false],
  ['bare account id means the account root', allow({ Principal: { AWS: ACCOUNT } }), { principal: `arn:aws:iam::${ACCOUNT}:user/alice` }, true],
  ['bare account id, other account', allow({ Principal: { AWS: OTHER } }), {}, false],
  ['account root in another partition', allow({ Principal: { AWS: `arn:aws-cn:iam::${ACCOUNT}:root` } }), {}, false],
  ['Service principal matches exactly', allow({ Principal: { Service: 'rds.amazonaws.com' } }), { principal: 'rds.amazonaws.com' }, true],
  ['Service principal does not match a role', allow({ Principal: { Service: 'rds.amazonaws.com' } }), {}, false],
  ['NotPrincipal excludes the listed', allow({ Principal: undefined, NotPrincipal: { AWS: ENCLAVE_ROLE } }), {}, false],
  ['NotPrincipal admits the others', allow({ Principal: undefined, NotPrincipal: { AWS: ENCLAVE_ROLE } }), { principal: `arn:aws:iam::${ACCOUNT}:role/x` }, true],
  // Action
  ['kms:* wildcard', allow({ Action: 'kms:*' }), { action: 'kms:GenerateDataKey' }, true],
  ['* wildcard', allow({ Action: '*' }), { action: 'kms:ScheduleKeyDeletion' }, true],
  ['kms:Generate* covers GenerateRandom', allow({ Action: 'kms:Generate*' }), { action: 'kms:GenerateRandom' }, true],
  ['kms:Generate* does not cover Decrypt', allow({ Action: 'kms:Generate*' }), {}, false],
  ['action names are case-insensitive', allow({ Action: 'KMS:decrypt' }), {}, true],
  ['? matches one character', allow({ Action: 'kms:?ecrypt' }), {}, true],
  ['action list', allow({ Action: ['kms:Encrypt', 'kms:Decrypt'] }), {}, true],
  ['other action', allow({ Action: 'kms:Encrypt' }), {}, false],
  ['other service', allow({ Action: 's3:*' }), {}, false],
  ['NotAction excludes the listed', allow({ Action: undefined, NotAction: 'kms:Decrypt' }), {}, false],
  ['NotAction admits the others', allow({ Action: undefined, NotAction: 'kms:Decrypt' }), { action: 'kms:Encrypt' }, true],
  // Resource
  ['Resource key ARN', allow({ Resource: KEY_ARN }), {}, true],
  ['Resource wildcard ARN', allow({ Resource: 'arn:aws:kms:us-west-2:111122223333:key/*' }), {}, true],
  ['Resource other key', allow({ Resource: 'arn:aws:kms:us-west-2:111122223333:key/other' }), {}, false],
  ['Resource is case-sensitive', allow({ Resource: KEY_ARN.toUpperCase().replace('ARN:AWS', 'arn:aws') }), {}, false],
  ['NotResource', allow({ Resource: undefined, NotResource: KEY_ARN }), {}, false],
];

describe('statement matching', () => {
  it.each(cases)('%s', (_name, statement, request, verdict) => {
    const clean = Object.fromEntries(Object.entries(statement).filter(([, v]) => v !== undefined));
    const d = decide(clean, request);
    expect(d.allowed).toBe(verdict);
    expect(d.reason).toBe(verdict ? 'explicit-allow' : 'implicit-deny');
  });
});

describe('combining statements', () => {
  it('an explicit Deny wins over an Allow, in any order', () => {
    const deny = { Sid: 'NoDecrypt', Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*' };
    for (const statements of [[allow({ Sid: 'Yes' }), deny], [deny, allow({ Sid: 'Yes' })]]) {
      const d = decide(statements);
      expect(d).toMatchObject({ allowed: false, reason: 'explicit-deny', statementSid: 'NoDecrypt' });
      expect(d.statements.map((t) => t.applied)).toEqual([true, true]);
    }
  });

  it('a Deny whose condition fails does not deny', () => {
    const deny = { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const d = decide([allow({}), deny], { values: { 'aws:SecureTransport': true } });
    expect(d).toMatchObject({ allowed: true, reason: 'explicit-allow', statementSid: 'Statement[0]' });
    expect(d.statements[1]).toMatchObject({ applied: false, conditionsMatched: false });
  });

  it('no statement applying is an implicit deny, listing only failures of matching Allow statements', () => {
    const d = decide([
      allow({ Sid: 'Attested', Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': 'aa' } } }),
      allow({ Sid: 'OtherAction', Action: 'kms:Encrypt', Condition: { StringEquals: { 'kms:ViaService': 'x' } } }),
    ]);
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('implicit-deny');
    expect(d.statementSid).toBeUndefined();
    expect(d.failures).toEqual([
      { statement: 'Attested', operator: 'StringEqualsIgnoreCase', key: 'kms:RecipientAttestation:PCR0', expected: ['aa'], actual: undefined },
    ]);
    expect(d.statements[1]).toMatchObject({ actionMatched: false, conditionsMatched: undefined, failures: [] });
  });

  it('an empty request context and an unconditioned Allow', () => {
    expect(decide(allow({})).allowed).toBe(true);
  });
});

// The cross-account snapshot-sharing policy of the design notes ("Allow use of the key with
// destination account"): the destination account may use the key only through RDS in us-west-2.
describe('cross-account snapshot policy', () => {
  const policy = parseKeyPolicy(JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-policy-cross-account-snapshot',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'Allow use of the key with destination account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: ['kms:Decrypt', 'kms:CreateGrant'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 'rds.us-west-2.amazonaws.com', 'kms:CallerAccount': OTHER } },
      },
    ],
  }));
  const dest = `arn:aws:iam::${OTHER}:role/rds-restore`;
  const run = (principal: string, action: string, viaService?: string, callerAccount?: string) =>
    evaluateKeyPolicy(policy, {
      principalArn: principal,
      action,
      resource: KEY_ARN,
      values: { ...callerConditionValues(principal, viaService), ...(callerAccount === undefined ? {} : { 'kms:CallerAccount': callerAccount }) },
    });

  type Row = [name: string, principal: string, action: string, via: string | undefined, verdict: boolean, failedKeys: string[]];
  const rows: Row[] = [
    ['dest account via RDS us-west-2: Decrypt', dest, 'kms:Decrypt', 'rds.us-west-2.amazonaws.com', true, []],
    ['dest account via RDS us-west-2: CreateGrant', dest, 'kms:CreateGrant', 'rds.us-west-2.amazonaws.com', true, []],
    ['dest account, direct call', dest, 'kms:Decrypt', undefined, false, ['kms:ViaService']],
    ['dest account via RDS in another region', dest, 'kms:Decrypt', 'rds.us-east-1.amazonaws.com', false, ['kms:ViaService']],
    ['dest account via another service', dest, 'kms:Decrypt', 'ec2.us-west-2.amazonaws.com', false, ['kms:ViaService']],
    ['dest account, action not granted', dest, 'kms:Encrypt', 'rds.us-west-2.amazonaws.com', false, []],
    ['third account via RDS', 'arn:aws:iam::777788889999:role/x', 'kms:Decrypt', 'rds.us-west-2.amazonaws.com', false, []],
    ['owner account: everything', `arn:aws:iam::${ACCOUNT}:role/admin`, 'kms:ScheduleKeyDeletion', undefined, true, []],
  ];
  it.each(rows)('%s', (_name, principal, action, via, verdict, failedKeys) => {
    const d = run(principal, action, via);
    expect(d.allowed).toBe(verdict);
    expect(d.failures.map((f) => f.key)).toEqual(failedKeys);
    if (verdict) expect(d.statementSid).toBe(principal.includes(OTHER) ? 'Allow use of the key with destination account' : 'Enable IAM User Permissions');
  });

  it('a caller-account value from another account is refused, naming both values', () => {
    const d = run(dest, 'kms:Decrypt', 'rds.us-west-2.amazonaws.com', '777788889999');
    expect(d.allowed).toBe(false);
    expect(d.failures).toEqual([
      { statement: 'Allow use of the key with destination account', operator: 'StringEquals', key: 'kms:CallerAccount', expected: [OTHER], actual: '777788889999' },
    ]);
  });

  it('the denial message names principal, action and key as KMS does', () => {
    const request = { principalArn: dest, action: 'kms:Decrypt', resource: KEY_ARN };
    const d = run(dest, 'kms:Decrypt');
    expect(accessDeniedMessage(request, d)).toBe(
      `User: ${dest} is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN} because no resource-based policy allows the kms:Decrypt action`,
    );
    expect(accessDeniedMessage(request, { ...d, reason: 'explicit-deny' })).toMatch(/with an explicit deny in a resource-based policy$/);
  });
});
