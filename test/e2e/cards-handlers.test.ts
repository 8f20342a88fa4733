/**
 * The enclave app's handler registry, in process: the built-in card handlers refuse a broken
 * `cards` configuration at boot (not on every request), and the custom handler of docs/api.md
 * ("Custom handlers") compiles, registers and runs. The example below is the documented one,
 * character for character: a test checks that docs/api.md shows exactly this code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBuiltinHandlers, sealedInputContext } from '../../enclave/app/handlers.js';
import { HandlerRegistry } from '../../enclave/app/registry.js';
import { sealedInputSchema, withBuiltinInput, withOpenedInput, type SealedInputContext } from '../../enclave/app/sealed-input.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { redact } from '../../enclave/pii/redact.js';
import type { EnclaveServices } from '../../enclave/runtime.js';
import { generateHpkeKeyPair, HpkeRecipient, sealedInputInfo, sealHpke, type HpkeKeyPair } from '../../shared/hpke/index.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { openApiDocument, openApiRoutes } from '../../parent/http/routes/openapi.js';
import { systemRoutes } from '../../parent/http/routes/system.js';
import type { EnclaveGateway } from '../../parent/enclave-gateway.js';
import { ERROR_CODES, isErrorCode } from '../../shared/errors.js';
import { REPO } from './stack.js';

// docs:begin custom-handler
/** `acme.pii-score`: flags sealed documents holding at least `threshold` PII items; returns no text. */
export function registerPiiScore(registry: HandlerRegistry, sealed: SealedInputContext): void {
  registry.register({
    op: 'acme.pii-score',
    // Checked before `handle` runs: strict objects (unknown fields refused), bounded arrays and numbers.
    input: z.strictObject({
      documents: z.array(sealedInputSchema).min(1).max(100),
      threshold: z.number().int().min(1).max(1000).default(3),
    }),
    handle: async ({ documents, threshold }) => {
      const flagged: boolean[] = [];
      for (const document of documents) {
        // Its own purpose (never a built-in one): an ESDK message under the card key with
        // purpose=acme.pii-score, or HPKE sealed with info "enclavekit/v1/acme.pii-score"; the
        // plaintext is zeroed when the callback returns or throws.
        const found = await withOpenedInput(document, { purpose: 'acme.pii-score', maxBytes: 64 * 1024 }, sealed, ({ plaintext }) => {
          const { counts } = redact(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
          return Object.values(counts).reduce((sum, n) => sum + n, 0);
        });
        flagged.push(found >= threshold);
      }
      return { flagged };
    },
  });
}
// docs:end custom-handler

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';

let enclaveKey: HpkeRecipient;
let sender: HpkeKeyPair;

beforeAll(async () => {
  enclaveKey = await HpkeRecipient.generate();
  sender = await generateHpkeKeyPair();
});

afterAll(() => {
  enclaveKey?.dispose();
  sender?.privateKey.fill(0);
});

/** Only what registration touches: the enclave's HPKE key. KMS and the key ring are never reached here. */
function services(): EnclaveServices {
  const unreachable = new Proxy({}, { get: () => { throw new Error('not used in this test'); } });
  return { identity: { hpke: enclaveKey }, kms: unreachable, keys: unreachable } as unknown as EnclaveServices;
}

const config = (cards: Record<string, unknown>) =>
  parseEnclaveConfig({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: KEY_ARN, ...cards } });

describe('built-in handlers: the cards configuration is checked at boot', () => {
  it('registers the five operations for a sound configuration', () => {
    const registry = new HandlerRegistry();
    registerBuiltinHandlers(registry, services(), config({ hpkeSenders: [b64(sender.publicKey)], detokenizeRecipients: { processor: b64(sender.publicKey) } }));
    expect(registry.ops().sort()).toEqual(['cards.detokenize-to', 'cards.tokenize', 'cards.tokenize-batch', 'pii.blind-index', 'pii.redact']);
  });

  it.each([
    ['an HPKE sender key of 31 bytes', { hpkeSenders: [b64(new Uint8Array(31))] }],
    ['an empty HPKE sender key', { hpkeSenders: [''] }],
    ['a recipient key of 33 bytes', { detokenizeRecipients: { processor: b64(new Uint8Array(33)) } }],
  ])('refuses %s with ERR_CONFIG instead of failing every request later', (_name, cards) => {
    expect(() => registerBuiltinHandlers(new HandlerRegistry(), services(), config(cards))).toThrowError(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('the custom handler example of docs/api.md', () => {
  async function sealText(text: string): Promise<{ hpke: { enc: Uint8Array; ciphertext: Uint8Array; sender: Uint8Array } }> {
    const sealed = await sealHpke(enclaveKey.publicKey, new TextEncoder().encode(text), { info: sealedInputInfo('acme.pii-score'), senderPrivateKey: sender.privateKey });
    return { hpke: { ...sealed, sender: sender.publicKey } };
  }

  function registry(): HandlerRegistry {
    const r = new HandlerRegistry();
    registerPiiScore(r, sealedInputContext(services(), config({ hpkeSenders: [b64(sender.publicKey)] }).cards!));
    return r;
  }
  const ctx = { signal: new AbortController().signal };

  it('is the code docs/api.md shows', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const example = source.slice(source.indexOf('// docs:begin custom-handler\n') + '// docs:begin custom-handler\n'.length, source.indexOf('// docs:end custom-handler'));
    expect(example.length).toBeGreaterThan(500);
    expect(readFileSync(path.join(REPO, 'docs/api.md'), 'utf8')).toContain(example);
  });

  it('registers next to the built-ins and answers derived values only', async () => {
    const r = registry();
    registerBuiltinHandlers(r, services(), config({}));
    expect(r.has('acme.pii-score')).toBe(true);
    const documents = [await sealText('mail jane@example.com, call (415) 555-0132, SSN 536-22-1184'), await sealText('nothing personal here')];
    expect(await r.dispatch('acme.pii-score', { documents, threshold: 2 }, ctx)).toEqual({ flagged: [true, false] });
    // The default threshold (3) applies when the field is absent.
    expect(await r.dispatch('acme.pii-score', { documents: documents.slice(0, 1) }, ctx)).toEqual({ flagged: [true] });
  });

  it('its schema and limits are enforced before it runs', async () => {
    const r = registry();
    const one = await sealText('x');
    for (const body of [{ documents: [] }, { documents: Array.from({ length: 101 }, () => one) }, { documents: [one], threshold: 0 }, { documents: [one], extra: true }, { documents: [{ plain: 'text' }] }]) {
      await expect(r.dispatch('acme.pii-score', body, ctx)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    }
  });

  it('inherits the sender policy: a stranger’s envelope is refused', async () => {
    const stranger = await generateHpkeKeyPair();
    const sealed = await sealHpke(enclaveKey.publicKey, new TextEncoder().encode('jane@example.com'), { info: sealedInputInfo('acme.pii-score'), senderPrivateKey: stranger.privateKey });
    stranger.privateKey.fill(0);
    await expect(registry().dispatch('acme.pii-score', { documents: [{ hpke: { ...sealed, sender: stranger.publicKey } }] }, ctx)).rejects.toMatchObject({ code: 'ERR_SENDER_NOT_ALLOWED' });
  });
});

describe('custom handlers cannot take a built-in purpose', () => {
  it('withOpenedInput refuses card, pii-text and pii-value before opening anything', async () => {
    // A custom operation opening `card` inputs would let the parent replay card messages to it
    // (and its inputs to tokenize): the opener refuses the name itself, whatever the input.
    const sealed = await sealHpke(enclaveKey.publicKey, new TextEncoder().encode('{"pan":"4111111111111111","exp":"12/30"}'), { info: sealedInputInfo('card'), senderPrivateKey: sender.privateKey });
    const input = sealedInputSchema.parse({ hpke: { ...sealed, sender: sender.publicKey } });
    const ctx = sealedInputContext(services(), config({ hpkeSenders: [b64(sender.publicKey)] }).cards!);
    let used = 0;
    for (const purpose of ['card', 'pii-text', 'pii-value']) {
      await expect(withOpenedInput(input, { purpose, field: 'ssn', maxBytes: 4096 }, ctx, () => (used += 1))).rejects.toThrow(RangeError);
    }
    expect(used).toBe(0);
    // The built-in opener takes it: the refusal above is about the name.
    expect(await withBuiltinInput(input, { purpose: 'card', maxBytes: 4096 }, ctx, ({ origin }) => origin)).toBe('hpke-auth');
  });
});

describe('docs/api.md', () => {
  const doc = readFileSync(path.join(REPO, 'docs/api.md'), 'utf8');

  it('lists exactly the routes the parent serves', () => {
    const gateway = {} as EnclaveGateway;
    const served = [...systemRoutes(gateway), ...cardRoutes(gateway), ...openApiRoutes()].map((r) => `${r.method} ${r.path}`).sort();
    const documented = [...doc.matchAll(/^\| `(GET|POST) (\/[a-z0-9/.-]+)[^`]*` \| (open|bearer) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(documented).toEqual(served);
  });

  it('gives every error code its real HTTP status', () => {
    const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \|/gm)];
    expect(rows.length).toBeGreaterThan(20);
    for (const [, code, status] of rows) {
      expect(isErrorCode(code), `${code} exists`).toBe(true);
      expect(Number(status), code).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
    }
  });
});

describe('GET /v1/openapi.json', () => {
  const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, any>>; components: any };
  const gateway = {} as EnclaveGateway;
  const served = [...systemRoutes(gateway), ...cardRoutes(gateway), ...openApiRoutes()];

  it('describes exactly the served routes, bearer auth where the server requires it', () => {
    expect(doc.openapi).toBe('3.1.0');
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(described.sort()).toEqual(served.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of served) {
      const op = doc.paths[route.path]![route.method.toLowerCase()];
      // Open routes override the document-wide bearer requirement with an empty list.
      expect(op.security === undefined, `${route.path} needs a token`).toBe(route.auth);
    }
  });

  it('lists real error codes, each with a response for its status', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const code of op['x-error-codes'] as string[]) {
          expect(isErrorCode(code), `${p}: ${code}`).toBe(true);
          const status = String(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
          expect(op.responses[status], `${p}: ${code} → ${status}`).toEqual({ $ref: `#/components/responses/Error${status}` });
          expect(doc.components.responses[`Error${status}`].description).toContain(code);
        }
      }
    }
  });

  it('takes the sealed-value schema from the route parser (limits included)', () => {
    const sealed = doc.components.schemas.Sealed;
    expect(sealed.anyOf[0].properties.esdk).toEqual({ type: 'string', maxLength: Math.ceil((64 * 1024 * 4) / 3) + 4, pattern: '^[A-Za-z0-9+/]*={0,2}$' });
    expect(sealed.anyOf[1].properties.kmsRsa).toEqual(sealed.anyOf[0].properties.esdk);
    expect(sealed.anyOf[2].properties.hpke.required).toEqual(['enc', 'ciphertext']);
    expect(doc.paths['/v1/cards/tokenize-batch']!.post.requestBody.content['application/json'].schema.properties.cards.maxItems).toBe(1000);
  });
});
