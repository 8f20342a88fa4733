/**
 * The parent's configuration: parsed, unknown keys refused, frozen. Units and defaults here.
 */
import { z } from 'zod';
import { parseConfigWith } from '../shared/config/parse.js';
import { SCOPE_PATTERN } from './http/auth.js';
import { DEFAULT_CLOCK_WARN_OFFSET_MS, DEFAULT_MAX_CLOCK_OFFSET_MS, SIGV4_WINDOW_MS } from './clock-gate.js';

const wrappedKey = z.strictObject({
  /** Base64 KMS CiphertextBlob (from GenerateDataKeyWithoutPlaintext). */
  ciphertextBlob: z.base64(),
  /** The KMS key ARN the blob is under; the enclave asks KMS to decrypt with exactly this key. */
  keyId: z.string().min(1),
  encryptionContext: z.record(z.string(), z.string()).optional(),
});

export const parentConfigSchema = z.strictObject({
  /** The HTTP API. Loopback by default: put a TLS-terminating proxy in front for remote callers. */
  http: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8080) }).prefault({}),
  /**
   * Bearer tokens accepted on /v1/* (each ≥ 16 characters): a bare string gets the default scopes
   * (cards:tokenize, pii:redact, pii:blind-index: no detokenize), or `{token, scopes}` names its own
   * (parent/http/auth.ts; docs/api.md "Tokens and scopes").
   */
  apiTokens: z
    .array(z.union([z.string().min(16), z.strictObject({ token: z.string().min(16), scopes: z.array(z.string().regex(SCOPE_PATTERN)).max(64) })]))
    .min(1),
  /** The enclaves' message-API URLs (vsock://CID:5005 in production; up to 4 per host). */
  enclaves: z.array(z.string()).min(1).max(4),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
  proxy: z
    .strictObject({
      /** Where enclaves open KMS tunnels. Production: vsock, any CID, port 5006 (not 8000: AWS's vsock-proxy default). */
      listen: z.string().default('vsock://4294967295:5006'),
      /** host:port targets; default the regional KMS endpoint only. */
      allowlist: z.array(z.string()).optional(),
    })
    .prefault({}),
  credentials: z
    .discriminatedUnion('source', [
      z.strictObject({ source: z.literal('default-chain') }),
      z.strictObject({ source: z.literal('file'), file: z.string(), arn: z.string() }),
    ])
    .default({ source: 'default-chain' }),
  /** Wrapped keys handed to each enclave on connect (the tokenization key, the blind-index key). */
  wrappedKeys: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), wrappedKey).default({}),
  /** Also append JSON log lines to this file. */
  logFile: z.string().optional(),
  /** /readyz fails while an enclave's clock is further than this from the parent's, ms (parent/clock-gate.ts). */
  maxClockOffsetMs: z.number().int().positive().max(SIGV4_WINDOW_MS).default(DEFAULT_MAX_CLOCK_OFFSET_MS),
  /** Beyond this offset the parent logs enclave-clock-warning (readiness unaffected), ms. */
  clockWarnOffsetMs: z.number().int().positive().default(DEFAULT_CLOCK_WARN_OFFSET_MS),
  /** Largest HTTP request body, bytes. */
  maxBodyBytes: z.number().int().positive().max(64 * 1024 * 1024).default(4 * 1024 * 1024),
}).refine((c) => c.clockWarnOffsetMs < c.maxClockOffsetMs, { message: 'must be below maxClockOffsetMs', path: ['clockWarnOffsetMs'] });

export type ParentConfig = z.infer<typeof parentConfigSchema>;

export function parseParentConfig(raw: unknown): Readonly<ParentConfig> {
  return parseConfigWith(parentConfigSchema, raw, 'parent config');
}

export function proxyAllowlistOf(config: Pick<ParentConfig, 'proxy' | 'region'>): readonly string[] {
  return config.proxy.allowlist ?? [`kms.${config.region}.amazonaws.com:443`];
}
