/**
 * AWS credentials inside the enclave come from the parent (`credentials` RPC), are cached until
 * five minutes before they expire, and are refreshed on demand: the SDK calls this provider
 * before signing, and concurrent callers share one refresh.
 */
import { ServiceError } from '../shared/errors.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

export function parentCredentialProvider(
  fetchFromParent: () => Promise<unknown>,
  now: () => number = Date.now,
): () => Promise<AwsCredentials> {
  let cached: AwsCredentials | undefined;
  let refreshing: Promise<AwsCredentials> | undefined;
  const fresh = (c: AwsCredentials): boolean =>
    c.expiration === undefined || c.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS > now();
  return async () => {
    if (cached !== undefined && fresh(cached)) return cached;
    refreshing ??= fetchFromParent()
      .then((raw) => {
        cached = parseCredentials(raw);
        return cached;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };
}

function parseCredentials(raw: unknown): AwsCredentials {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof r.accessKeyId !== 'string' || typeof r.secretAccessKey !== 'string' || r.accessKeyId === '' || r.secretAccessKey === '') {
    throw new ServiceError('ERR_KMS_ACCESS_DENIED', 'parent sent no usable credentials');
  }
  return {
    accessKeyId: r.accessKeyId,
    secretAccessKey: r.secretAccessKey,
    ...(typeof r.sessionToken === 'string' ? { sessionToken: r.sessionToken } : {}),
    ...(typeof r.expiration === 'number' ? { expiration: new Date(r.expiration) } : {}),
  };
}
