/**
 * Checks that a store's answer is about the secret we asked for, in the account and Region of
 * `secrets.keyArn`. The parent supplies the enclave's AWS credentials and sees which host each
 * tunnel goes to, so it can sign the store read with its own account's credentials and serve an
 * old ciphertext of the same name from there (KMS would still open it: same key, same context).
 * The ARN in the answer is inside the TLS the enclave terminates, so the parent cannot rewrite it.
 * ARN shapes: AWS Systems Manager User Guide, "Working with parameter hierarchies" / IAM Service
 * Authorization Reference (ssm: parameter/NAME, the leading slash of NAME not doubled); Secrets
 * Manager User Guide, "Secret ARN" (secret:NAME-xxxxxx, six random characters).
 * Pure: no I/O.
 */
import { ServiceError } from '../../shared/errors.js';
import type { KmsKeyArnParts } from '../../shared/aws/kms-key-arn.js';
import { ssmParameterArn } from '../../shared/aws/ssm-parameter-arn.js';

/** GetParameter's Parameter.ARN must name this parameter in the pinned account and Region. */
export function checkParameterAnswer(pin: KmsKeyArnParts, name: string, arn: string | undefined): void {
  if (arn !== ssmParameterArn(pin, name)) {
    throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetParameter answered with a Parameter.ARN outside the account and Region of secrets.keyArn, or of another name');
  }
}

/** GetSecretValue's ARN must be secret:NAME-xxxxxx in the pinned account and Region, and Name the name. */
export function checkSecretAnswer(pin: KmsKeyArnParts, name: string, arn: string | undefined, answeredName: string | undefined): void {
  const prefix = `arn:${pin.partition}:secretsmanager:${pin.region}:${pin.account}:secret:${name}-`;
  const suffix = arn?.startsWith(prefix) === true ? arn.slice(prefix.length) : undefined;
  if (suffix === undefined || !/^[A-Za-z0-9]{6}$/.test(suffix) || answeredName !== name) {
    throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetSecretValue answered with an ARN or Name outside the account and Region of secrets.keyArn, or of another name');
  }
}
