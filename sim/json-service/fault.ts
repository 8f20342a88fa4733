/**
 * Wire errors of the simulated AWS JSON 1.1 services (SSM, Secrets Manager). Like KmsFault, these
 * are not enclavekit error codes: they are the `__type` names of each service's model, which the
 * unmodified SDK turns into its exception classes. The KMS pieces reused here (SigV4, request
 * shapes) throw KmsFault; `fromKmsFault` carries their name and message over unchanged.
 */
import { KmsFault } from '../kms/errors.js';

/** Server-side errors are answered with 500, as AWS does; everything else with 400. */
const SERVER_SIDE = new Set(['InternalServerError', 'InternalServiceError', 'InternalFailure']);

/** An AWS-shaped error answer. The message goes to the client: never put a secret value in it. */
export class AwsFault extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string) {
    super(message);
    this.name = 'AwsFault';
    this.type = type;
    this.status = SERVER_SIDE.has(type) ? 500 : type === 'RequestEntityTooLargeException' ? 413 : 400;
  }

  toWire(): { __type: string; message?: string } {
    return this.message === '' ? { __type: this.type } : { __type: this.type, message: this.message };
  }
}

export function fromKmsFault(fault: KmsFault): AwsFault {
  return new AwsFault(fault.type, fault.message);
}
