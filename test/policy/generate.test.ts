import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../shared/errors.js';
import {
  ADMIN_ACTIONS,
  ENCLAVE_ACTIONS,
  generateKeyPolicy,
  INTERNAL_PURPOSES,
  PRODUCER_PURPOSES,
  PRODUCER_ACTIONS,
  SID_ENCLAVE,
  type GenerateKeyPolicyOptions,
} from '../../shared/policy/generate.js';
import { parsePcrsJson } from '../../shared/policy/pcrs.js';
import {
  attestationConditionValues,
  callerConditionValues,
  encryptionContextConditionValues,
  evaluateKeyPolicy,
  KMS_ACTIONS,
  parseKeyPolicy,
  type ConditionValue,
} from '../../sim/kms/policy/index.js';
import { ACCOUNT, ENCLAVE_ROLE, KEY_ARN } from './helpers.js';

const hex = (c: string) => c.repeat(96);
const PCRS = { 0: hex('a'), 1: hex('b'), 2: hex('c') };
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/admin`;
const PRODUCER = `arn:aws:iam::${ACCOUNT}:role/client`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/enclave/i-0123456789abcdef0`;

const base: GenerateKeyPolicyOptions = {
  account: ACCOUNT,
  enclaveRoleArn: ENCLAVE_ROLE,
  adminArns: [ADMIN],
  producerArns: [PRODUCER],
  pcrs: PCRS,
  encryptionContext: { purpose: ['cards'] },
};

function policyOf(options: Partial<GenerateKeyPolicyOptions> = {}) {
  const { policy } = generateKeyPolicy({ ...base, ...options });
  // Round trip through JSON text, as the CLI writes it and KMS receives it.
  return parseKeyPolicy(JSON.stringify(policy));
}

function allowed(policy: ReturnType<typeof policyOf>, principal: string, action: string, values: Record<string, ConditionValue>): boolean {
  return evaluateKeyPolicy(policy, { principalArn: principal, action, resource: KEY_ARN, values: { ...callerConditionValues(principal), ...values } }).allowed;
}

function refusal(options: Partial<GenerateKeyPolicyOptions>): InputError {
  try {
    generateKeyPolicy({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('ERR_BAD_REQUEST');
    return error as InputError;
  }
  throw new Error('expected a refusal');
}

describe('generateKeyPolicy: the enclave role gets nothing without attestation', () => {
  const policy = policyOf();
  const everythingButAttestation = {
    ...encryptionContextConditionValues({ purpose: 'cards' }),
    'kms:ViaService': 'rds.us-west-2.amazonaws.com',
  };

  it.each([ENCLAVE_ROLE, SESSION])('%s: every KMS action is denied with no attestation values', (principal) => {
    for (const action of KMS_ACTIONS) {
      expect(allowed(policy, principal, action, {}), action).toBe(false);
      expect(allowed(policy, principal, action, everythingButAttestation), action).toBe(false);
    }
  });

  it('with the matching measurements it gets exactly Decrypt', () => {
    const attested = attestationConditionValues(PCRS);
    const granted = KMS_ACTIONS.filter((action) => allowed(policy, SESSION, action, attested));
    expect(granted.sort()).toEqual([...ENCLAVE_ACTIONS].sort());
  });

  it('a changed PCR denies and the failure names that PCR with both values', () => {
    const attested = attestationConditionValues({ ...PCRS, 2: hex('d') });
    const d = evaluateKeyPolicy(policy, { principalArn: SESSION, action: 'kms:Decrypt', resource: KEY_ARN, values: { ...callerConditionValues(SESSION), ...attested } });
    expect(d.allowed).toBe(false);
    expect(d.failures).toEqual([
      { statement: SID_ENCLAVE, operator: 'StringEqualsIgnoreCase', key: 'kms:RecipientAttestation:PCR2', expected: [hex('c')], actual: hex('d') },
    ]);
  });

  it('property: the enclave role is allowed Decrypt exactly when every bound PCR matches', () => {
    const pcrValue = fc.constantFrom(hex('a'), hex('b'), hex('c'), hex('e'), hex('A'));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('0', '1', '2', '3', '8'), pcrValue), fc.constantFrom(ENCLAVE_ROLE, SESSION), (doc, principal) => {
        const pcrs = Object.fromEntries(Object.entries(doc).map(([k, v]) => [Number(k), v]));
        const expected = [0, 1, 2].every((i) => pcrs[i]?.toLowerCase() === PCRS[i as 0 | 1 | 2]);
        expect(allowed(policy, principal, 'kms:Decrypt', attestationConditionValues(pcrs))).toBe(expected);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('the attested statement also requires the caller account', () => {
    const other = 'arn:aws:sts::444455556666:assumed-role/enclave/x';
    expect(allowed(policy, other, 'kms:Decrypt', attestationConditionValues(PCRS))).toBe(false);
  });
});

describe('generateKeyPolicy: administrators and producers', () => {
  const policy = policyOf();
  const attested = attestationConditionValues(PCRS);

  it('administrators get exactly the management actions, never data or grants, even holding a valid document', () => {
    const granted = KMS_ACTIONS.filter((action) => allowed(policy, ADMIN, action, attested));
    expect(granted.sort()).toEqual([...ADMIN_ACTIONS].sort());
    for (const forbidden of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateRandom', 'kms:CreateGrant', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:ImportKeyMaterial']) {
      expect(granted).not.toContain(forbidden);
    }
  });

  it('immutablePolicy leaves out kms:PutKeyPolicy', () => {
    expect(allowed(policyOf(), ADMIN, 'kms:PutKeyPolicy', {})).toBe(true);
    expect(allowed(policyOf({ immutablePolicy: true }), ADMIN, 'kms:PutKeyPolicy', {})).toBe(false);
  });

  it('producers may Encrypt and GenerateDataKey with the encryption context, and nothing else', () => {
    const ctx = encryptionContextConditionValues({ purpose: 'cards', tenant: 't1' });
    expect(KMS_ACTIONS.filter((action) => allowed(policy, PRODUCER, action, ctx)).sort()).toEqual([...PRODUCER_ACTIONS].sort());
    expect(allowed(policy, PRODUCER, 'kms:Encrypt', encryptionContextConditionValues({ purpose: 'pii' }))).toBe(false);
    expect(allowed(policy, PRODUCER, 'kms:Encrypt', {})).toBe(false);
    expect(allowed(policy, PRODUCER, 'kms:Decrypt', { ...ctx, ...attested })).toBe(false);
  });

  it('several values for one context key are alternatives; several producers and admins are listed', () => {
    const p = policyOf({ encryptionContext: { purpose: ['cards', 'pii'] }, producerArns: [PRODUCER, `arn:aws:iam::${ACCOUNT}:role/batch`], adminArns: [ADMIN, ADMIN] });
    expect(allowed(p, PRODUCER, 'kms:Encrypt', encryptionContextConditionValues({ purpose: 'pii' }))).toBe(true);
    expect(allowed(p, `arn:aws:iam::${ACCOUNT}:role/batch`, 'kms:Encrypt', encryptionContextConditionValues({ purpose: 'cards' }))).toBe(true);
    expect(generateKeyPolicy({ ...base, adminArns: [ADMIN, ADMIN] }).policy.Statement[0]!.Principal.AWS).toBe(ADMIN);
  });

  it('without producers there is no producer statement', () => {
    const { policy: doc } = generateKeyPolicy({ ...base, producerArns: [], encryptionContext: {} });
    expect(doc.Statement.map((s) => s.Sid)).toEqual(['EnclaveKitKeyAdministration', 'EnclaveKitAttestedEnclave']);
  });
});

describe('generateKeyPolicy: bindings', () => {
  it('pcrs (default): one StringEqualsIgnoreCase key per PCR, lower-case hex', () => {
    const { policy } = generateKeyPolicy({ ...base, pcrs: { ...PCRS, 8: hex('F') } });
    expect(policy.Statement[2]!.Condition!['StringEqualsIgnoreCase']).toEqual({
      'kms:RecipientAttestation:PCR0': hex('a'),
      'kms:RecipientAttestation:PCR1': hex('b'),
      'kms:RecipientAttestation:PCR2': hex('c'),
      'kms:RecipientAttestation:PCR8': hex('f'),
    });
  });

  it('image-sha384-only binds ImageSha384 = PCR0, and it evaluates against a document', () => {
    const { policy: doc } = generateKeyPolicy({ ...base, binding: 'image-sha384-only' });
    expect(doc.Statement[2]!.Condition!['StringEqualsIgnoreCase']).toEqual({ 'kms:RecipientAttestation:ImageSha384': hex('a') });
    const p = parseKeyPolicy(doc);
    expect(allowed(p, ENCLAVE_ROLE, 'kms:Decrypt', attestationConditionValues({ 0: hex('a'), 1: hex('9') }))).toBe(true);
    expect(allowed(p, ENCLAVE_ROLE, 'kms:Decrypt', attestationConditionValues({ 0: hex('9') }))).toBe(false);
  });

  it('pcrs-and-image-sha384 binds both', () => {
    const { policy } = generateKeyPolicy({ ...base, binding: 'pcrs-and-image-sha384' });
    expect(Object.keys(policy.Statement[2]!.Condition!['StringEqualsIgnoreCase']!)).toHaveLength(4);
  });

  it('warns about PCR4 and about nothing else', () => {
    expect(generateKeyPolicy(base).warnings).toEqual([]);
    expect(generateKeyPolicy({ ...base, pcrs: { ...PCRS, 4: hex('4') } }).warnings.join()).toMatch(/PCR4 is the parent instance id/);
  });
});

describe('generateKeyPolicy refuses unsafe or invalid input', () => {
  const zero = '0'.repeat(96);
  it.each<[string, Partial<GenerateKeyPolicyOptions>, RegExp]>([
    ['debug-mode PCR0', { pcrs: { ...PCRS, 0: zero } }, /PCR0 is all zeros: these are debug-mode measurements/],
    ['debug-mode PCRs 0-2', { pcrs: { 0: zero, 1: zero, 2: zero } }, /debug-mode/],
    ['all-zero PCR8', { pcrs: { ...PCRS, 8: zero } }, /PCR8 is all zeros/],
    ['no application measurement', { pcrs: { 1: hex('b'), 3: hex('3') } }, /must bind a measurement of the enclave application/],
    ['ImageSha384 without PCR0', { pcrs: { 2: hex('c') }, binding: 'image-sha384-only' }, /ImageSha384 needs PCR0/],
    ['no PCRs', { pcrs: {} }, /must bind a measurement/],
    ['short PCR', { pcrs: { 0: 'abcd' } }, /PCR0 must be 96 hex digits/],
    ['PCR index 32', { pcrs: { ...PCRS, 32: hex('a') } }, /PCR0..PCR31/],
    ['admin is the account root', { adminArns: [`arn:aws:iam::${ACCOUNT}:root`] }, /account root stands for every principal/],
    ['admin is the enclave role', { adminArns: [ENCLAVE_ROLE] }, /would include the enclave role/],
    ['admin is the enclave role with a path', { adminArns: [`arn:aws:iam::${ACCOUNT}:role/ops/enclave`] }, /would include the enclave role/],
    ['producer is an enclave-role session', { producerArns: [SESSION] }, /producer .* would include the enclave role/],
    ['no admin', { adminArns: [] }, /at least one key administrator/],
    ['bad account', { account: '1234' }, /12-digit/],
    ['enclave role in another account', { account: '444455556666' }, /not in account/],
    ['enclave role not a role', { enclaveRoleArn: `arn:aws:iam::${ACCOUNT}:user/bob` }, /must be an IAM role ARN/],
    ['principal with a wildcard', { adminArns: [`arn:aws:iam::${ACCOUNT}:role/*`] }, /must be an IAM principal ARN/],
    ['context without producers', { producerArns: [] }, /no producer/],
    ['empty context value', { encryptionContext: { purpose: [''] } }, /needs a non-empty value/],
  ])('%s', (_name, options, message) => {
    expect(refusal(options).message).toMatch(message);
  });

  it('accepts an administrator root of another account (it does not include the enclave role)', () => {
    expect(() => generateKeyPolicy({ ...base, adminArns: ['arn:aws:iam::444455556666:root'] })).not.toThrow();
  });
});

describe('parsePcrsJson', () => {
  const nitro = {
    Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: hex('A'), PCR1: hex('b'), PCR2: hex('c') },
  };
  it('reads nitro-cli build-enclave output, lower-casing the hex', () => {
    expect(parsePcrsJson(JSON.stringify(nitro))).toEqual({ 0: hex('a'), 1: hex('b'), 2: hex('c') });
  });
  it('reads describe-eif output (extra top-level fields) and PCR8', () => {
    expect(parsePcrsJson({ EifVersion: 4, IsSigned: true, Measurements: { ...nitro.Measurements, PCR8: hex('8') } })[8]).toBe(hex('8'));
  });
  it('reads the whole saved output of nitro-cli, progress lines first', () => {
    const output = `Start building the Enclave Image...\nEnclave Image successfully created.\n${JSON.stringify(nitro, null, 2)}\n`;
    expect(parsePcrsJson(output)[0]).toBe(hex('a'));
    expect(() => parsePcrsJson('Start building...\n{ broken')).toThrow(/not valid JSON/);
  });
  it('reads a flat object', () => {
    expect(parsePcrsJson({ PCR0: hex('a'), PCR3: hex('3') })).toEqual({ 0: hex('a'), 3: hex('3') });
  });
  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{', /not valid JSON/],
    ['an array', [], /must be a JSON object/],
    ['Measurements not an object', { Measurements: 'x' }, /"Measurements" must be an object/],
    ['SHA-256', { Measurements: { HashAlgorithm: 'Sha256', PCR0: hex('a') } }, /SHA-384/],
    ['unknown field', { PCR0: hex('a'), PCR99: hex('a') }, /unknown field "PCR99"/],
    ['short value', { PCR0: 'abc' }, /PCR0 must be 96 hex digits/],
    ['number value', { PCR0: 5 }, /PCR0 must be a string/],
    ['empty', { Measurements: { HashAlgorithm: 'Sha384 { ... }' } }, /no PCR values/],
  ])('refuses %s', (_name, input, message) => {
    expect(() => parsePcrsJson(input)).toThrow(message);
    try {
      parsePcrsJson(input);
    } catch (error) {
      expect((error as InputError).code).toBe('ERR_BAD_REQUEST');
    }
  });
});

describe('generateKeyPolicy: the internal key (wrapped enclave keys)', () => {
  const GENERATOR = `arn:aws:iam::${ACCOUNT}:role/keygen`;
  const internal = { kind: 'internal' as const, producerArns: [], encryptionContext: {}, wrappedKeyGeneratorArns: [GENERATOR] };
  const policy = policyOf(internal);
  const attested = attestationConditionValues(PCRS);

  it('generators may only create wrapped data keys with an internal purpose, never read plaintext', () => {
    for (const purpose of INTERNAL_PURPOSES) {
      const ctx = encryptionContextConditionValues({ purpose });
      expect(KMS_ACTIONS.filter((action) => allowed(policy, GENERATOR, action, ctx))).toEqual(['kms:GenerateDataKeyWithoutPlaintext']);
    }
    expect(allowed(policy, GENERATOR, 'kms:GenerateDataKeyWithoutPlaintext', encryptionContextConditionValues({ purpose: 'card' }))).toBe(false);
    expect(allowed(policy, GENERATOR, 'kms:GenerateDataKeyWithoutPlaintext', {})).toBe(false);
  });

  it('a producer gets no action at all, whatever the context or document', () => {
    for (const purpose of [...PRODUCER_PURPOSES, ...INTERNAL_PURPOSES]) {
      const values = { ...encryptionContextConditionValues({ purpose }), ...attested };
      expect(KMS_ACTIONS.filter((action) => allowed(policy, PRODUCER, action, values))).toEqual([]);
    }
  });

  it('the attested enclave may Decrypt, and nothing else', () => {
    expect(KMS_ACTIONS.filter((action) => allowed(policy, SESSION, action, attested))).toEqual(['kms:Decrypt']);
    expect(allowed(policy, SESSION, 'kms:Decrypt', {})).toBe(false);
  });

  it('refuses producers on the internal key, generators on the card key, and a generator that would include the enclave role', () => {
    expect(refusal({ ...internal, producerArns: [PRODUCER] }).message).toMatch(/internal key admits no producers/);
    expect(refusal({ wrappedKeyGeneratorArns: [GENERATOR] }).message).toMatch(/belong on the internal key/);
    expect(refusal({ ...internal, wrappedKeyGeneratorArns: [`arn:aws:iam::${ACCOUNT}:root`] }).message).toMatch(/wrapped-key generator/);
  });
});

describe('generateKeyPolicy: secret writers on the internal key (sealed secrets)', () => {
  const WRITER = `arn:aws:iam::${ACCOUNT}:role/secret-writer`;
  const internal = { kind: 'internal' as const, producerArns: [], encryptionContext: {}, secretWriterArns: [WRITER] };
  const policy = policyOf(internal);
  const secret = encryptionContextConditionValues({ purpose: 'secret', store: 'ssm', name: '/enclavekit/x' });

  it('writers may only Encrypt, and only with purpose=secret: they never read a secret back nor mint a wrapped key', () => {
    expect(KMS_ACTIONS.filter((action) => allowed(policy, WRITER, action, { ...secret, ...attestationConditionValues(PCRS) }))).toEqual(['kms:Encrypt']);
    for (const purpose of [...INTERNAL_PURPOSES, ...PRODUCER_PURPOSES]) {
      expect(allowed(policy, WRITER, 'kms:Encrypt', encryptionContextConditionValues({ purpose }))).toBe(false);
    }
    expect(allowed(policy, WRITER, 'kms:Encrypt', {})).toBe(false);
    expect(generateKeyPolicy({ ...base, ...internal }).policy.Statement.find((st) => st.Sid === 'EnclaveKitSecretWriters')?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:purpose': 'secret' },
    });
  });

  it('the enclave role still gets only the attested Decrypt (it cannot seal a secret itself)', () => {
    expect(KMS_ACTIONS.filter((action) => allowed(policy, SESSION, action, { ...secret, ...attestationConditionValues(PCRS) }))).toEqual(['kms:Decrypt']);
  });

  it('refuses writers on the card and RSA keys, and a writer that would include the enclave role', () => {
    expect(refusal({ secretWriterArns: [WRITER] }).message).toMatch(/secret writers belong on the internal key .*card key/);
    expect(refusal({ kind: 'rsa', producerArns: [], encryptionContext: {}, secretWriterArns: [WRITER] }).message).toMatch(/secret writers belong on the internal key .*RSA key/);
    for (const arn of [`arn:aws:iam::${ACCOUNT}:root`, ENCLAVE_ROLE, SESSION]) {
      expect(refusal({ ...internal, secretWriterArns: [arn] }).message).toMatch(/the secret writer .* would include the enclave role/);
    }
  });
});

describe('generateKeyPolicy: producers are bound to the API purposes', () => {
  const policy = policyOf({ encryptionContext: { purpose: [...PRODUCER_PURPOSES] } });

  it('a producer cannot mint a tokenization key under the card key (GenerateDataKey purpose=tokenization-key)', () => {
    for (const purpose of INTERNAL_PURPOSES) {
      expect(allowed(policy, PRODUCER, 'kms:GenerateDataKey', encryptionContextConditionValues({ purpose }))).toBe(false);
    }
    expect(allowed(policy, PRODUCER, 'kms:GenerateDataKey', encryptionContextConditionValues({ purpose: 'pii-value', field: 'ssn' }))).toBe(true);
  });

  it('refuses producers without purposes, or with an internal purpose', () => {
    expect(refusal({ encryptionContext: {} }).message).toMatch(/producers need the purposes/);
    expect(refusal({ encryptionContext: { tenant: ['a'] } }).message).toMatch(/producers need the purposes/);
    expect(refusal({ encryptionContext: { purpose: ['card', 'tokenization-key'] } }).message).toMatch(/enclave-internal key/);
  });

  it('generated policies hold key-resource actions only (no kms:GenerateRandom, kms:ListAliases: those are IAM, deploy/iam)', () => {
    for (const doc of [generateKeyPolicy(base).policy, generateKeyPolicy({ ...base, kind: 'internal', producerArns: [], encryptionContext: {}, wrappedKeyGeneratorArns: [ADMIN] }).policy]) {
      const actions = doc.Statement.flatMap((st) => st.Action);
      expect(actions.length).toBeGreaterThan(0);
      for (const accountLevel of ['kms:GenerateRandom', 'kms:ListAliases', 'kms:ListKeys', 'kms:CreateKey']) expect(actions).not.toContain(accountLevel);
    }
  });
});

describe('generateKeyPolicy without PCRs (a key created before its image exists)', () => {
  const GENERATOR = `arn:aws:iam::${ACCOUNT}:role/keygen`;
  const internal = { kind: 'internal' as const, producerArns: [], encryptionContext: {}, wrappedKeyGeneratorArns: [GENERATOR], pcrs: undefined };
  const attested = attestationConditionValues(PCRS);

  it('writes no enclave statement: nobody may Decrypt, even with a valid attestation document', () => {
    for (const options of [{ pcrs: undefined }, internal]) {
      const { policy: doc, warnings } = generateKeyPolicy({ ...base, ...options });
      expect(doc.Statement.map((s) => s.Sid)).not.toContain(SID_ENCLAVE);
      expect(warnings).toEqual([]);
      const policy = policyOf(options);
      for (const principal of [ENCLAVE_ROLE, SESSION, ADMIN, PRODUCER, GENERATOR]) {
        expect(allowed(policy, principal, 'kms:Decrypt', attested), principal).toBe(false);
      }
    }
  });

  it('keeps the other statements and their conditions: purpose-bound generators, admins without data actions', () => {
    const policy = policyOf(internal);
    const ctx = encryptionContextConditionValues({ purpose: INTERNAL_PURPOSES[0]! });
    expect(KMS_ACTIONS.filter((action) => allowed(policy, GENERATOR, action, ctx))).toEqual(['kms:GenerateDataKeyWithoutPlaintext']);
    expect(allowed(policy, GENERATOR, 'kms:GenerateDataKeyWithoutPlaintext', encryptionContextConditionValues({ purpose: 'card' }))).toBe(false);
    expect(KMS_ACTIONS.filter((action) => allowed(policy, ADMIN, action, attested))).toEqual(KMS_ACTIONS.filter((a) => ADMIN_ACTIONS.includes(a)));
    expect(generateKeyPolicy({ ...base, ...internal }).policy.Id).toBe('enclavekit-internal-key-policy');
  });

  it('still refuses what it refuses with PCRs (here: an administrator that includes the enclave role)', () => {
    expect(refusal({ pcrs: undefined, adminArns: [`arn:aws:iam::${ACCOUNT}:root`] }).message).toMatch(/would include the enclave role/);
  });
});
