/**
 * A 400 names the field and the rule it breaks, never the value: the caller can fix the request,
 * and a card number sent in the wrong place (a value, or a key name) never comes back or reaches
 * a log through the error message.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCOPES } from '../../parent/http/auth.js';
import { createLogger } from '../../parent/log.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { createApiServer, listen } from '../../parent/http/server.js';
import { recordingGateway } from '../helpers/recording-gateway.js';

const TOKEN = 'bad-request-token-0123456789';
const PAN = '4111111111111111';
const { gateway, calls } = recordingGateway();
const logLines: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  // The body is read only for a token that may call the operation (the scope comes first): this one may detokenize.
  server = createApiServer({ routes: cardRoutes(gateway), apiTokens: [{ token: TOKEN, scopes: [...DEFAULT_SCOPES, 'cards:detokenize:acme'] }], logger: createLogger({ write: (line) => logLines.push(line) }) });
  base = (await listen(server, '127.0.0.1', 0)).url;
});
afterAll(() => server.close());

async function post(path: string, body: unknown): Promise<{ status: number; code: string; message: string }> {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: json.error.code, message: json.error.message };
}

const b64 = (bytes: number): string => Buffer.alloc(bytes, 1).toString('base64');

describe('HTTP 400 messages', () => {
  it.each([
    ['an ESDK message over 64 KiB', '/v1/cards/tokenize', { card: { esdk: b64(64 * 1024 + 10) } }, 'card.esdk: at most 65536 bytes'],
    ['a missing card', '/v1/cards/tokenize', {}, 'card: required'],
    ['esdk of the wrong type', '/v1/cards/tokenize', { card: { esdk: 4111111111111111 } }, 'card.esdk: Invalid input: expected string, received number'],
    ['esdk not base64', '/v1/cards/tokenize', { card: { esdk: `${PAN}!` } }, 'card.esdk: expected standard base64 (A-Z a-z 0-9 + /, = padding)'],
    ['neither esdk nor hpke', '/v1/cards/tokenize', { card: {} }, 'card: expected {"esdk": base64}, {"kmsRsa": base64} or {"hpke": {"enc", "ciphertext", "sender"?}}'],
    ['an HPKE enc over 32 bytes', '/v1/cards/tokenize', { card: { hpke: { enc: b64(40), ciphertext: b64(10) } } }, 'card.hpke.enc: at most 32 bytes'],
    ['a batch item', '/v1/cards/tokenize-batch', { cards: [{ esdk: b64(8) }, { esdk: 7 }] }, 'cards.1.esdk: Invalid input: expected string, received number'],
    ['an unknown field named like a card number', '/v1/cards/tokenize', { card: { esdk: b64(8) }, [PAN]: 1 }, 'body: unknown field'],
    ['a token that is not digits', '/v1/cards/detokenize-to', { token: `${PAN}x`, recipient: 'acme' }, 'token: expected 12 to 19 digits'],
    ['a recipient too long', '/v1/cards/detokenize-to', { token: PAN, recipient: 'r'.repeat(65) }, 'recipient: at most 64 characters'],
    ['a blind-index field outside the list', '/v1/pii/blind-index', { field: PAN, values: [{ esdk: b64(8) }] }, 'field: expected one of email, phone, ssn, name'],
  ])('%s', async (_name, path, body, message) => {
    const answer = await post(path, body);
    expect(answer).toEqual({ status: 400, code: 'ERR_BAD_REQUEST', message });
    expect(answer.message).not.toContain(PAN);
  });

  it('no invalid request reached the enclave, and no log line holds the card number', () => {
    expect(calls).toEqual([]);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(PAN);
  });
});
