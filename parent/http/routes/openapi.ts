/**
 * GET /v1/openapi.json: an OpenAPI 3.1 description of the parent's HTTP API (docs/api.md is the
 * prose version). The sealed-value schema is generated from the very zod schema the card routes
 * parse with (`sealedSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so limits and
 * patterns cannot drift; the rest is written out here and checked against the served routes and
 * the error table by test/e2e/cards-handlers.test.ts. Each operation lists the error codes it may
 * answer in `x-error-codes`.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../../shared/errors.js';
import { LIMITS } from '../../../shared/limits.js';
import type { Route } from '../server.js';
import { sealedSchema } from './cards.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });

/** 5xx answers every enclave-backed route may give. */
const UNAVAILABLE: ErrorCode[] = [
  'ERR_ENCLAVE_UNAVAILABLE',
  'ERR_CONNECTION_LOST',
  'ERR_NOT_READY',
  'ERR_TOO_MANY_IN_FLIGHT',
  'ERR_KMS_UNAVAILABLE',
  'ERR_KMS_THROTTLED',
  'ERR_KMS_ACCESS_DENIED',
  'ERR_KMS_REJECTED',
  'ERR_DEADLINE_EXCEEDED',
  'ERR_INTERNAL',
];
/** The card and PII routes: ERR_FORBIDDEN when the token lacks the route's scope (parent/http/auth.ts). */
const REQUEST: ErrorCode[] = ['ERR_BAD_REQUEST', 'ERR_UNAUTHORIZED', 'ERR_FORBIDDEN', 'ERR_BODY_TOO_LARGE'];
const SEALED: ErrorCode[] = ['ERR_SEALED_INPUT_MALFORMED', 'ERR_DECRYPT_FAILED', 'ERR_ENCRYPTION_CONTEXT', 'ERR_SENDER_NOT_ALLOWED'];

function operation(summary: string, codes: ErrorCode[], ok: unknown, body?: unknown): Record<string, unknown> {
  const responses: Record<string, unknown> = { '200': { description: 'OK', content: json(ok) } };
  for (const status of [...new Set(codes.map((c) => ERROR_CODES[c].status))].sort()) {
    responses[String(status)] = { $ref: `#/components/responses/Error${status}` };
  }
  return {
    summary,
    ...(body === undefined ? {} : { requestBody: { required: true, content: json(body) } }),
    responses,
    'x-error-codes': codes,
  };
}

function buildDocument(): Record<string, unknown> {
  const { $schema: _dialect, ...sealed } = z.toJSONSchema(sealedSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const batch = (items: unknown) => ({ type: 'array', items, minItems: 1, maxItems: LIMITS.batchMaxItems });
  const itemError = ref('Error');
  const statuses = [...new Set(Object.values(ERROR_CODES).map((e) => e.status))].sort();
  return {
    openapi: '3.1.0',
    info: {
      title: 'enclavekit parent API',
      version: '1',
      description: 'Card and PII operations answered by an attested Nitro enclave; sealed inputs in, derived values out. See docs/api.md.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { ...operation('Liveness of the parent', [], { type: 'object', properties: { status: { const: 'ok' } } }), security: [] } },
      '/readyz': { get: { ...operation('An enclave is connected, attested and has its keys', ['ERR_ENCLAVE_UNAVAILABLE'], { type: 'object', properties: { ready: { const: true } } }), security: [] } },
      '/v1/attestation': {
        get: {
          ...operation('A fresh attestation document (COSE_Sign1, base64)', ['ERR_BAD_REQUEST', 'ERR_UNAUTHORIZED', ...UNAVAILABLE], ref('AttestationResult')),
          parameters: [{ name: 'nonce', in: 'query', required: false, schema: { type: 'string', pattern: '^([0-9a-fA-F]{2})*$', maxLength: 2 * LIMITS.attestationFieldMaxBytes } }],
        },
      },
      '/v1/cards/tokenize': {
        post: operation('Tokenize one sealed card', [...REQUEST, ...SEALED, 'ERR_INVALID_CARD', 'ERR_RATE_LIMITED', ...UNAVAILABLE], ref('TokenResult'), {
          type: 'object',
          properties: { card: ref('Sealed') },
          required: ['card'],
          additionalProperties: false,
        }),
      },
      '/v1/cards/tokenize-batch': {
        post: operation(
          'Tokenize up to 1000 sealed cards; results in order, per-item errors',
          [...REQUEST, 'ERR_BATCH_TOO_LARGE', ...UNAVAILABLE],
          { type: 'object', properties: { results: { type: 'array', items: { oneOf: [ref('TokenResult'), itemError] } } }, required: ['results'] },
          { type: 'object', properties: { cards: batch(ref('Sealed')) }, required: ['cards'], additionalProperties: false },
        ),
      },
      '/v1/cards/detokenize-to': {
        post: operation(
          'Re-encrypt the PAN behind a token to an allowlisted recipient (HPKE Auth mode from the enclave key in the attached attestation document, info enclavekit/v1/detokenize, aad = token; needs scope cards:detokenize:<recipient>)',
          [...REQUEST, 'ERR_RECIPIENT_NOT_ALLOWED', 'ERR_INVALID_TOKEN', ...UNAVAILABLE],
          {
            type: 'object',
            properties: {
              recipient: { type: 'string' },
              enc: { type: 'string', contentEncoding: 'base64' },
              ciphertext: { type: 'string', contentEncoding: 'base64' },
              attestation: { type: 'string', contentEncoding: 'base64' },
            },
            required: ['recipient', 'enc', 'ciphertext', 'attestation'],
          },
          {
            type: 'object',
            properties: { token: { type: 'string', pattern: '^\\d{12,19}$' }, recipient: { type: 'string', minLength: 1, maxLength: 64 } },
            required: ['token', 'recipient'],
            additionalProperties: false,
          },
        ),
      },
      '/v1/pii/redact': {
        post: operation(
          'Replace emails, phones, SSNs, cards and IBANs in sealed text with placeholders',
          [...REQUEST, ...SEALED, ...UNAVAILABLE],
          {
            type: 'object',
            properties: {
              text: { type: 'string' },
              counts: { type: 'object', properties: Object.fromEntries(['email', 'phone', 'ssn', 'card', 'iban'].map((k) => [k, { type: 'integer', minimum: 0 }])) },
            },
            required: ['text', 'counts'],
          },
          { type: 'object', properties: { text: ref('Sealed') }, required: ['text'], additionalProperties: false },
        ),
      },
      '/v1/pii/blind-index': {
        post: operation(
          'Keyed HMAC-SHA256 digests of normalised sealed values; results in order, per-item errors',
          [...REQUEST, 'ERR_BATCH_TOO_LARGE', ...UNAVAILABLE],
          {
            type: 'object',
            properties: {
              field: { type: 'string' },
              results: { type: 'array', items: { oneOf: [{ type: 'object', properties: { digest: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, required: ['digest'] }, itemError] } },
            },
            required: ['field', 'results'],
          },
          {
            type: 'object',
            properties: { field: { enum: ['email', 'phone', 'ssn', 'name'] }, values: batch(ref('Sealed')) },
            required: ['field', 'values'],
            additionalProperties: false,
          },
        ),
      },
      '/v1/openapi.json': { get: operation('This document', ['ERR_UNAUTHORIZED'], { type: 'object' }) },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Sealed: {
          ...sealed,
          description:
            'An AWS Encryption SDK message under the card key (encryption context purpose=card, pii-text, or pii-value with field), a value sealed offline to the KMS RSA key\'s public key (kmsRsa, docs/api.md), or an HPKE envelope to the enclave key (Auth mode with `sender`; Base mode only with public submission). Base64 values.',
        },
        TokenResult: {
          type: 'object',
          properties: {
            token: { type: 'string', pattern: '^\\d{14,19}$' },
            bin: { type: 'string', pattern: '^\\d{6}$' },
            last4: { type: 'string', pattern: '^\\d{4}$' },
            brand: { enum: ['visa', 'mastercard', 'amex', 'discover', 'jcb', 'diners', 'unionpay', 'maestro', 'unknown'] },
            luhnValid: { type: 'boolean' },
            expired: { type: 'boolean' },
          },
          required: ['token', 'bin', 'last4', 'brand', 'luhnValid', 'expired'],
        },
        AttestationResult: { type: 'object', properties: { document: { type: 'string', contentEncoding: 'base64' } }, required: ['document'] },
        Error: {
          type: 'object',
          properties: {
            error: { type: 'object', properties: { code: { enum: Object.keys(ERROR_CODES) }, message: { type: 'string' } }, required: ['code', 'message'] },
          },
          required: ['error'],
        },
      },
      responses: Object.fromEntries(
        statuses.map((status) => [
          `Error${status}`,
          {
            description: Object.entries(ERROR_CODES)
              .filter(([, e]) => e.status === status)
              .map(([code]) => code)
              .join(', '),
            content: json(ref('Error')),
          },
        ]),
      ),
    },
  };
}

let cached: string | undefined;

/** The OpenAPI document (built once). */
export function openApiDocument(): Record<string, unknown> {
  cached ??= JSON.stringify(buildDocument());
  return JSON.parse(cached) as Record<string, unknown>;
}

export function openApiRoutes(): Route[] {
  return [{ method: 'GET', path: '/v1/openapi.json', auth: true, handle: async () => ({ body: openApiDocument() }) }];
}
