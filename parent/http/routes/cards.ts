/**
 * The card and PII API (a contract: paths and JSON fields are relied on by other programs; see
 * docs/api.md). The parent checks only the envelope shapes and sizes, turns base64 into bytes and
 * forwards sealed data to the enclave, which alone can open it. Answers are derived values only.
 */
import { z } from 'zod';
import { InputError } from '../../../shared/errors.js';
import { LIMITS } from '../../../shared/limits.js';
import { describeIssue } from '../../../shared/validation.js';
import type { EnclaveGateway } from '../../enclave-gateway.js';
import { requireScope } from '../auth.js';
import type { Route, RouteContext } from '../server.js';

/** Base64 of at most `max` bytes; the rule is stated in bytes, as docs/api.md gives the limits. */
const b64 = (max: number) =>
  z
    .string()
    .max(Math.ceil((max * 4) / 3) + 4, { error: `at most ${max} bytes` })
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'expected standard base64 (A-Z a-z 0-9 + /, = padding)' })
    .transform((s) => new Uint8Array(Buffer.from(s, 'base64')));

const SEALED_MAX_BYTES = 64 * 1024;

/**
 * A sealed input: an AWS Encryption SDK message, a value sealed offline to the KMS RSA key's public
 * key (docs/api.md "Inputs sealed to a KMS RSA public key"), or an HPKE envelope to the enclave's key.
 */
export const sealedSchema = z.union(
  [
    z.strictObject({ esdk: b64(SEALED_MAX_BYTES) }),
    z.strictObject({ kmsRsa: b64(SEALED_MAX_BYTES) }),
    z.strictObject({
      hpke: z.strictObject({
        enc: b64(32),
        ciphertext: b64(SEALED_MAX_BYTES),
        /** Auth mode: the sender's X25519 public key (base64), checked against the enclave's allowlist. */
        sender: b64(32).optional(),
      }),
    }),
  ],
  { error: (issue) => (issue.input === undefined ? 'required' : 'expected {"esdk": base64}, {"kmsRsa": base64} or {"hpke": {"enc", "ciphertext", "sender"?}}') },
);

const tokenizeSchema = z.strictObject({ card: sealedSchema });
const tokenizeBatchSchema = z.strictObject({ cards: z.array(sealedSchema).min(1).max(LIMITS.batchMaxItems) });
const detokenizeSchema = z.strictObject({
  token: z.string().regex(/^\d{12,19}$/, { error: 'expected 12 to 19 digits' }),
  recipient: z.string().min(1, { error: 'at least 1 character' }).max(64, { error: 'at most 64 characters' }),
});
const redactSchema = z.strictObject({ text: sealedSchema });
const blindIndexSchema = z.strictObject({
  field: z.enum(['email', 'phone', 'ssn', 'name'], { error: 'expected one of email, phone, ssn, name' }),
  values: z.array(sealedSchema).min(1).max(LIMITS.batchMaxItems),
});

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (Array.isArray((body as { cards?: unknown })?.cards) && (body as { cards: unknown[] }).cards.length > LIMITS.batchMaxItems) {
    throw new InputError('ERR_BATCH_TOO_LARGE', `a batch holds at most ${LIMITS.batchMaxItems} items`);
  }
  if (Array.isArray((body as { values?: unknown })?.values) && (body as { values: unknown[] }).values.length > LIMITS.batchMaxItems) {
    throw new InputError('ERR_BATCH_TOO_LARGE', `a batch holds at most ${LIMITS.batchMaxItems} items`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // The field and the rule it breaks, never the value (shared/validation.ts).
    const issue = parsed.error.issues[0];
    throw new InputError('ERR_BAD_REQUEST', issue === undefined ? 'body: invalid' : describeIssue(issue));
  }
  return parsed.data;
}

/**
 * Parses the body and forwards it. The route's `scope` (docs/api.md "Tokens and scopes") was
 * checked before the body was read (parent/http/server.ts); detokenize's is a family
 * (`cards:detokenize:`), and `recipientScope` checks, on the parsed body, the named recipient's.
 */
function forward<S extends z.ZodType>(gateway: EnclaveGateway, op: string, schema: S, recipientScope?: (body: z.infer<S>) => string) {
  return async ({ body, signal, grant }: RouteContext) => {
    const parsed = parse(schema, body);
    if (recipientScope !== undefined) requireScope(grant, recipientScope(parsed));
    return { body: await gateway.call(op, parsed, { signal, deadlineMs: 30_000 }) };
  };
}

export function cardRoutes(gateway: EnclaveGateway): Route[] {
  return [
    { method: 'POST', path: '/v1/cards/tokenize', auth: true, scope: 'cards:tokenize', handle: forward(gateway, 'cards.tokenize', tokenizeSchema) },
    { method: 'POST', path: '/v1/cards/tokenize-batch', auth: true, scope: 'cards:tokenize', handle: forward(gateway, 'cards.tokenize-batch', tokenizeBatchSchema) },
    {
      method: 'POST',
      path: '/v1/cards/detokenize-to',
      auth: true,
      scope: 'cards:detokenize:',
      handle: forward(gateway, 'cards.detokenize-to', detokenizeSchema, ({ recipient }) => `cards:detokenize:${recipient}`),
    },
    { method: 'POST', path: '/v1/pii/redact', auth: true, scope: 'pii:redact', handle: forward(gateway, 'pii.redact', redactSchema) },
    { method: 'POST', path: '/v1/pii/blind-index', auth: true, scope: 'pii:blind-index', handle: forward(gateway, 'pii.blind-index', blindIndexSchema) },
  ];
}
