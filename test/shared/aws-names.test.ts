/**
 * The shared AWS helpers (shared/aws/): the KMS key-ARN pattern the enclave config, the CLI and the
 * secret-store pin all use, and the error-name sanitizer of every store / KMS error message.
 */
import { describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { mapStoreErrorName } from './aws-names-helpers.js';
import { awsErrorName } from '../../shared/aws/error-name.js';
import { KMS_KEY_ARN, parseKmsKeyArn } from '../../shared/aws/kms-key-arn.js';
import { ServiceError } from '../../shared/errors.js';

const ID = '11111111-2222-3333-4444-555555555555';

describe('KMS key ARNs', () => {
  it.each([
    [`arn:aws:kms:us-east-1:111122223333:key/${ID}`, { partition: 'aws', region: 'us-east-1', account: '111122223333' }],
    [`arn:aws-cn:kms:cn-north-1:111122223333:key/${ID}`, { partition: 'aws-cn', region: 'cn-north-1', account: '111122223333' }],
    [`arn:aws-us-gov:kms:us-gov-west-1:444455556666:key/${ID}`, { partition: 'aws-us-gov', region: 'us-gov-west-1', account: '444455556666' }],
  ])('parses %s, and the enclave config accepts it', (arn, parts) => {
    expect(parseKmsKeyArn(arn)).toEqual(parts);
    expect(parseEnclaveConfig({ kms: { region: 'us-east-1' }, secrets: { keyArn: arn, items: [{ store: 'ssm', name: '/enclavekit/a' }] } }).secrets?.keyArn).toBe(arn);
  });

  it.each([
    ['an alias', 'arn:aws:kms:us-east-1:111122223333:alias/enclavekit'],
    ['a bare key id', ID],
    ['an 11-digit account', `arn:aws:kms:us-east-1:11112222333:key/${ID}`],
    ['another service', `arn:aws:ssm:us-east-1:111122223333:key/${ID}`],
    ['a trailing newline', `arn:aws:kms:us-east-1:111122223333:key/${ID}\n`],
  ])('refuses %s', (_what, arn) => {
    expect(KMS_KEY_ARN.test(arn)).toBe(false);
    expect(parseKmsKeyArn(arn)).toBeUndefined();
  });
});

describe('awsErrorName', () => {
  it.each([
    [Object.assign(new Error('value: hunter2'), { name: 'ParameterNotFound' }), 'ParameterNotFound'],
    [{ name: 'Throttling\nException: secret=hunter2' }, 'ThrottlingExceptionsecrethunter2'.slice(0, 64)],
    [{ name: 'A'.repeat(100) }, 'A'.repeat(64)],
    [new ServiceError('ERR_SECRET_UNAVAILABLE', 'x'), 'ERR_SECRET_UNAVAILABLE'],
    [{ name: 'KMSInternal2Exception' }, 'KMSInternal2Exception'],
    [{}, 'unknown error'],
    ['a string', 'unknown error'],
    [null, 'unknown error'],
  ])('%o → %s (never the message)', (error, name) => {
    expect(awsErrorName(error)).toBe(name);
  });

  it('the store reader and the CLI writer name a failure the same way', async () => {
    expect(await mapStoreErrorName({ name: 'Internal_Server-Error 5' })).toEqual({ read: 'GetParameter failed: Internal_ServerError5', put: 'PutParameter failed: Internal_ServerError5' });
  });
});
