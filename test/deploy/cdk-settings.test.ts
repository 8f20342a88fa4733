/**
 * The fleet settings and the keys' first policies, without synthesizing: producers get only the
 * purposes of the API's sealed inputs, and before the first image the keys come from the same
 * generator as later, so the internal key's wrapped-key generators are purpose-bound from the start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cardKeyPolicy, internalKeyPolicy, type KeyPolicyInputs } from '../../deploy/cdk/src/key-policies.js';
import { parseFleetSettings } from '../../deploy/cdk/src/settings.js';
import { INTERNAL_PURPOSES, PRODUCER_PURPOSES, SID_ADMIN, SID_ENCLAVE, SID_PRODUCERS, SID_WRAPPED_KEY_GENERATORS } from '../../shared/policy/generate.js';
import { encryptionContextConditionValues, evaluateKeyPolicy, KMS_ACTIONS, parseKeyPolicy, type ConditionValue } from '../../sim/kms/policy/index.js';
import { repoRoot } from './helpers.js';

const exampleRaw = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/cdk/fleet.example.json'), 'utf8')) as Record<string, unknown>;
const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/enclavekit-parent`;
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;

describe('fleet settings: producer purposes', () => {
  it('default to the purposes of the API sealed inputs, and the example names exactly those', () => {
    const { producerPurposes: _omitted, ...rest } = exampleRaw;
    expect(parseFleetSettings(rest).producerPurposes).toEqual([...PRODUCER_PURPOSES]);
    expect(parseFleetSettings(exampleRaw).producerPurposes).toEqual([...PRODUCER_PURPOSES]);
  });

  it('accept a subset', () => {
    expect(parseFleetSettings({ ...exampleRaw, producerPurposes: ['card'] }).producerPurposes).toEqual(['card']);
  });

  it.each([
    ['the retired pii', ['card', 'pii']],
    ['an internal key purpose', ['tokenization-key']],
    ['a made-up purpose', ['cards']],
    ['no purpose at all', []],
    ['a non-list', 'card'],
  ])('refuse %s, naming the field and the allowed values', (_what, purposes) => {
    expect(() => parseFleetSettings({ ...exampleRaw, producerPurposes: purposes })).toThrow(
      `fleet settings: producerPurposes must be a non-empty list of purposes among ${PRODUCER_PURPOSES.join(', ')}`,
    );
  });
});

describe('the key policies before the first image exists', () => {
  const settings = parseFleetSettings(exampleRaw);
  const inputs: KeyPolicyInputs = { account: ACCOUNT, enclaveRoleArn: ROLE_ARN, adminArns: settings.adminArns, producerArns: settings.producerArns, producerPurposes: settings.producerPurposes, keygenArns: settings.keygenArns, pcrs: undefined };
  const KEYGEN = settings.keygenArns[0]!;

  it("the internal key's generators may create wrapped keys only with an internal purpose", () => {
    const doc = internalKeyPolicy(inputs);
    expect(doc.Id).toBe('enclavekit-internal-key-policy');
    const generator = doc.Statement.find((s) => s.Sid === SID_WRAPPED_KEY_GENERATORS)!;
    expect(generator.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': [...INTERNAL_PURPOSES] } });
    // Attack: the keygen role asks for a wrapped key under a producer purpose or with no context.
    const policy = parseKeyPolicy(JSON.stringify(doc));
    const allowed = (action: string, values: Record<string, ConditionValue>) => evaluateKeyPolicy(policy, { principalArn: KEYGEN, action, resource: KEY_ARN, values }).allowed;
    for (const purpose of INTERNAL_PURPOSES) expect(KMS_ACTIONS.filter((a) => allowed(a, encryptionContextConditionValues({ purpose })))).toEqual(['kms:GenerateDataKeyWithoutPlaintext']);
    expect(allowed('kms:GenerateDataKeyWithoutPlaintext', encryptionContextConditionValues({ purpose: 'card' }))).toBe(false);
    expect(allowed('kms:GenerateDataKeyWithoutPlaintext', {})).toBe(false);
  });

  it('nobody may use the card key, and neither key names the instance role', () => {
    expect(cardKeyPolicy(inputs).Statement.map((s) => s.Sid)).toEqual([SID_ADMIN]);
    expect(internalKeyPolicy(inputs).Statement.map((s) => s.Sid)).toEqual([SID_ADMIN, SID_WRAPPED_KEY_GENERATORS]);
    for (const doc of [cardKeyPolicy(inputs), internalKeyPolicy(inputs)]) {
      expect(JSON.stringify(doc)).not.toContain(ROLE_ARN);
      expect(doc.Statement.map((s) => s.Sid)).not.toContain(SID_ENCLAVE);
    }
  });

  it('once an image exists, producers get the card key with the configured purposes', () => {
    const pcrs = { 0: 'a'.repeat(96), 1: 'b'.repeat(96), 2: 'c'.repeat(96) };
    const producers = cardKeyPolicy({ ...inputs, pcrs }).Statement.find((s) => s.Sid === SID_PRODUCERS)!;
    expect(producers.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': [...PRODUCER_PURPOSES] } });
  });
});
