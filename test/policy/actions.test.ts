import * as kms from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { KMS_ACTIONS } from '../../sim/kms/policy/index.js';

describe('KMS_ACTIONS', () => {
  it('is every operation of the installed KMS model, with ReEncrypt as ReEncryptFrom/ReEncryptTo', () => {
    const operations = Object.keys(kms)
      .filter((name) => /^[A-Z][A-Za-z]+Command$/.test(name))
      .map((name) => `kms:${name.slice(0, -'Command'.length)}`);
    expect(operations.length).toBeGreaterThan(40);
    const expected = operations.flatMap((a) => (a === 'kms:ReEncrypt' ? ['kms:ReEncryptFrom', 'kms:ReEncryptTo'] : [a])).sort();
    expect([...KMS_ACTIONS].sort()).toEqual(expected);
  });
});
