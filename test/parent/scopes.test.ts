/**
 * Scoped API tokens (parent/http/auth.ts): each card/PII route needs its scope, detokenize-to the
 * scope of the named recipient; a bare-string token (the older configuration form) gets the default
 * scopes, which leave detokenize out. Refused requests never reach the enclave.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParentConfig } from '../../parent/config.js';
import { DEFAULT_SCOPES, makeBearerCheck } from '../../parent/http/auth.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { createLogger } from '../../parent/log.js';
import { createApiServer, listen } from '../../parent/http/server.js';
import { recordingGateway } from '../helpers/recording-gateway.js';

const LEGACY = 'legacy-token-0123456789abcdef';
const TOKENIZER = 'tokenize-only-0123456789abcdef';
const PROCESSOR = 'detokenize-processor-0123456789';
const { gateway, calls } = recordingGateway();

let server: Server;
let base = '';
beforeAll(async () => {
  server = createApiServer({
    routes: cardRoutes(gateway),
    apiTokens: [LEGACY, { token: TOKENIZER, scopes: ['cards:tokenize'] }, { token: PROCESSOR, scopes: ['cards:detokenize:processor'] }],
    logger: createLogger({ write: () => {} }),
  });
  base = (await listen(server, '127.0.0.1', 0)).url;
});
afterAll(() => server.close());

const SEALED = { esdk: Buffer.from('x').toString('base64') };
const BODIES: Record<string, unknown> = {
  '/v1/cards/tokenize': { card: SEALED },
  '/v1/cards/tokenize-batch': { cards: [SEALED] },
  '/v1/pii/redact': { text: SEALED },
  '/v1/pii/blind-index': { field: 'ssn', values: [SEALED] },
  '/v1/cards/detokenize-to': { token: '4111119650721111', recipient: 'processor' },
};

async function post(token: string, path: string, body = BODIES[path]) {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

describe('scoped API tokens', () => {
  it('a bare-string token keeps working for tokenize and PII, and cannot detokenize', async () => {
    for (const path of ['/v1/cards/tokenize', '/v1/cards/tokenize-batch', '/v1/pii/redact', '/v1/pii/blind-index']) expect((await post(LEGACY, path)).status).toBe(200);
    calls.length = 0;
    expect(await post(LEGACY, '/v1/cards/detokenize-to')).toMatchObject({ status: 403, json: { error: { code: 'ERR_FORBIDDEN' } } });
    expect(calls).toEqual([]);
    expect(DEFAULT_SCOPES.some((s) => s.startsWith('cards:detokenize'))).toBe(false);
  });

  it('a token gets exactly its scopes; detokenize is per recipient', async () => {
    expect((await post(TOKENIZER, '/v1/cards/tokenize')).status).toBe(200);
    calls.length = 0;
    for (const path of ['/v1/pii/redact', '/v1/pii/blind-index', '/v1/cards/detokenize-to']) expect((await post(TOKENIZER, path)).json.error.code).toBe('ERR_FORBIDDEN');
    expect((await post(PROCESSOR, '/v1/cards/detokenize-to')).status).toBe(200);
    const other = await post(PROCESSOR, '/v1/cards/detokenize-to', { token: '4111119650721111', recipient: 'acquirer' });
    expect(other).toMatchObject({ status: 403, json: { error: { code: 'ERR_FORBIDDEN' } } });
    expect(JSON.stringify(other.json)).not.toContain('acquirer');
    expect((await post(PROCESSOR, '/v1/cards/tokenize')).status).toBe(403);
    expect(calls).toEqual(['cards.detokenize-to']);
  });

  it('the scope is checked before the body: an unscoped token with a malformed body gets 403, not the body rules', async () => {
    const malformed: Record<string, unknown> = {
      '/v1/cards/tokenize': { card: { esdk: '***' }, extra: 1 },
      '/v1/cards/tokenize-batch': { cards: Array.from({ length: 10_000 }, () => SEALED) },
      '/v1/pii/redact': { text: 42 },
      '/v1/pii/blind-index': { field: 'passport', values: [] },
    };
    calls.length = 0;
    for (const [path, body] of Object.entries(malformed)) {
      // The same bodies are refused as malformed for a token that holds the scope: the order is what is tested.
      expect((await post(LEGACY, path, body)).status, path).toBeGreaterThanOrEqual(400);
      expect((await post(LEGACY, path, body)).status, path).not.toBe(403);
      expect(await post(PROCESSOR, path, body), path).toMatchObject({ status: 403, json: { error: { code: 'ERR_FORBIDDEN' } } });
    }
    // Not even JSON: still 403 for a token without the scope.
    const notJson = await fetch(`${base}/v1/pii/redact`, { method: 'POST', headers: { authorization: `Bearer ${TOKENIZER}`, 'content-type': 'application/json' }, body: '{"text":' });
    expect(notJson.status).toBe(403);
    expect(((await notJson.json()) as any).error.code).toBe('ERR_FORBIDDEN');
    // Detokenize: a token with no detokenize scope at all is refused before the body; one with
    // another recipient's scope learns the body's rules (it may call the operation) but not this
    // recipient.
    expect(await post(TOKENIZER, '/v1/cards/detokenize-to', { token: 'not-digits', recipient: '' })).toMatchObject({ status: 403, json: { error: { code: 'ERR_FORBIDDEN' } } });
    expect(await post(PROCESSOR, '/v1/cards/detokenize-to', { token: 'not-digits', recipient: 'processor' })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(calls).toEqual([]);
  });

  it('config: unknown scopes are refused; both token forms parse', () => {
    const base = { enclaves: ['unix:///tmp/x.sock'], region: 'us-east-1' };
    expect(parseParentConfig({ ...base, apiTokens: [LEGACY, { token: PROCESSOR, scopes: ['cards:detokenize:processor'] }] }).apiTokens).toHaveLength(2);
    expect(() => parseParentConfig({ ...base, apiTokens: [{ token: PROCESSOR, scopes: ['cards:*'] }] })).toThrow();
    expect(() => makeBearerCheck([{ token: PROCESSOR, scopes: ['admin'] }])).toThrow(RangeError);
  });
});
