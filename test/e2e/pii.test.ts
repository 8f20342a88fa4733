/**
 * The PII API end to end on real processes (docs/api.md): `/v1/pii/redact` with text
 * sealed by an ESDK producer (purpose=pii-text) and by an HPKE Auth-mode producer, and
 * `/v1/pii/blind-index` (digests recomputed here from the documented formula and the KMS-wrapped
 * index key). The last test reads every byte the parent handled and every line it logged: the
 * original emails, phone numbers, SSNs, card number and IBAN appear nowhere; only the redacted
 * text and the digests come back.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetKeyPolicyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHpkeKeyPair, sealForEnclave, type HpkeKeyPair, type SealTarget, type SealedEnvelopeJson } from '../../shared/hpke/index.js';
import { esdkProducer, type Producer } from './producer.js';
import { parentView, startStack, type Stack } from './stack.js';
import { findLeaks } from './tap.js';

const EMAIL = 'Jane.Doe@example.com';
const PHONE = '(415) 555-0132';
const PHONE_INTL = '+44 20 7946 0958';
const SSN = '536-22-1184';
const CARD = '4539 1488 0343 6467';
const IBAN = 'GB82 WEST 1234 5698 7654 32';
const TEXT =
  `Customer Jane Doe <${EMAIL}>, phone ${PHONE} or ${PHONE_INTL}, SSN ${SSN}. ` +
  `Paid with ${CARD}, refund to IBAN ${IBAN}. Order 1234567812345678 and ZIP 94107-1234 stay; 900-12-3456 stays.`;
const REDACTED =
  'Customer Jane Doe <[EMAIL]>, phone [PHONE] or [PHONE], SSN [SSN]. ' +
  'Paid with [CARD], refund to IBAN [IBAN]. Order 1234567812345678 and ZIP 94107-1234 stay; 900-12-3456 stays.';
const COUNTS = { email: 1, phone: 2, ssn: 1, card: 1, iban: 1 };
const OTHER_EMAIL = 'john.roe@example.org';

let stack: Stack;
let producer: Producer;
let sender: HpkeKeyPair;
let document: Uint8Array;

beforeAll(async () => {
  sender = await generateHpkeKeyPair();
  stack = await startStack({ cards: { hpkeSenders: [Buffer.from(sender.publicKey).toString('base64')] } });
  await stack.waitReady();
  producer = esdkProducer(stack.sim, stack.principal('client'), stack.keyArn);
  const res = await stack.api('/v1/attestation');
  document = new Uint8Array(Buffer.from(res.json.document, 'base64'));
}, 120_000);

afterAll(async () => {
  producer?.close();
  await stack?.close();
  sender?.privateKey.fill(0);
});

/** ESDK-sealed PII: redaction text by default, or a blind-index value of `field`. */
const esdkPii = async (text: string, context: Record<string, string> = { purpose: 'pii-text' }) => ({ esdk: await producer.seal(text, context) });
const esdkValue = (text: string, field: string) => esdkPii(text, { purpose: 'pii-value', field });

async function hpkePii(text: string, target: SealTarget): Promise<{ hpke: SealedEnvelopeJson }> {
  const rootPem = readFileSync(path.join(stack.dir, 'sim', 'root.pem'), 'utf8');
  const verify = { at: Date.now(), roots: [rootPem], expectedPcrs: { 0: stack.pcrs[0]!, 1: stack.pcrs[1]!, 2: stack.pcrs[2]! }, maxAgeMs: 60_000 };
  return { hpke: await sealForEnclave(Buffer.from(text), target, { attestationDocument: document, verify, senderKey: sender.privateKey }) };
}

/** docs/api.md: HMAC-SHA256(index key, "enclavekit/v1/blind-index/" ‖ field ‖ 0x00 ‖ normalised). */
function expectedDigest(field: string, normalised: string): string {
  return createHmac('sha256', stack.plaintextKeys['blind-index']!).update(`enclavekit/v1/blind-index/${field}\u0000${normalised}`).digest('hex');
}

const post = (pathname: string, body: unknown) => stack.api(pathname, { method: 'POST', body: JSON.stringify(body) });

describe('redact', () => {
  it('replaces emails, phones, SSNs, Luhn-valid cards and IBANs with placeholders and counts them (ESDK, purpose=pii-text)', async () => {
    const res = await post('/v1/pii/redact', { text: await esdkPii(TEXT) });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ text: REDACTED, counts: COUNTS });
  });

  it('gives the same answer for text sealed with HPKE by an allowlisted sender', async () => {
    const res = await post('/v1/pii/redact', { text: await hpkePii(TEXT, { purpose: 'pii-text' }) });
    expect(res).toMatchObject({ status: 200, json: { text: REDACTED, counts: COUNTS } });
  });

  it('refuses input sealed for another purpose: an ESDK card message, an HPKE card envelope', async () => {
    expect(await post('/v1/pii/redact', { text: await esdkPii(TEXT, { purpose: 'card' }) })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    // The HPKE info string binds the purpose: a card envelope does not open as PII text.
    expect(await post('/v1/pii/redact', { text: await hpkePii(TEXT, { purpose: 'card' }) })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
    expect(await post('/v1/pii/redact', { text: 'plain text is not accepted' })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
  });

  it('refuses text that is not UTF-8 without echoing it', async () => {
    const res = await post('/v1/pii/redact', { text: { esdk: await producer.seal(Buffer.from([0x41, 0xff, 0xfe, 0x42]), { purpose: 'pii-text' }) } });
    expect(res).toMatchObject({ status: 400, json: { error: { code: 'ERR_SEALED_INPUT_MALFORMED' } } });
  });
});

describe('blind-index', () => {
  it('two spellings of one email give one digest, another email another; the digest is the documented HMAC', async () => {
    const values = [await esdkValue(EMAIL, 'email'), await hpkePii('  jane.doe@EXAMPLE.COM ', { purpose: 'pii-value', field: 'email' }), await esdkValue(OTHER_EMAIL, 'email')];
    const res = await post('/v1/pii/blind-index', { field: 'email', values });
    expect(res.status).toBe(200);
    expect(res.json.field).toBe('email');
    const [a, b, c] = res.json.results as { digest: string }[];
    expect(a!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(b!.digest).toBe(a!.digest);
    expect(c!.digest).not.toBe(a!.digest);
    expect(a!.digest).toBe(expectedDigest('email', 'jane.doe@example.com'));
    expect(c!.digest).toBe(expectedDigest('email', OTHER_EMAIL));
  });

  it('normalises phones to E.164 and SSNs to digits; fields are separated', async () => {
    const phones = await post('/v1/pii/blind-index', { field: 'phone', values: [await esdkValue(PHONE, 'phone'), await esdkValue('+1 415 555 0132', 'phone'), await hpkePii('415.555.0132', { purpose: 'pii-value', field: 'phone' })] });
    const digests = (phones.json.results as { digest: string }[]).map((r) => r.digest);
    expect(new Set(digests)).toEqual(new Set([expectedDigest('phone', '+14155550132')]));
    const ssns = await post('/v1/pii/blind-index', { field: 'ssn', values: [await esdkValue(SSN, 'ssn'), await esdkValue('536221184', 'ssn')] });
    expect((ssns.json.results as { digest: string }[]).map((r) => r.digest)).toEqual([expectedDigest('ssn', '536221184'), expectedDigest('ssn', '536221184')]);
    // The same digits as a phone field give another digest.
    expect(expectedDigest('phone', '+1536221184')).not.toBe(ssns.json.results[0].digest);
  });

  it('keeps order with per-item errors (invalid value, tampered, wrong context)', async () => {
    const good = await esdkValue(OTHER_EMAIL, 'email');
    const tampered = Buffer.from(good.esdk, 'base64');
    tampered[tampered.length - 110]! ^= 1;
    const res = await post('/v1/pii/blind-index', {
      field: 'email',
      values: [await esdkValue('not an email', 'email'), { esdk: tampered.toString('base64') }, await esdkPii(EMAIL, { purpose: 'card' }), good],
    });
    expect(res.status).toBe(200);
    expect(res.json.results).toMatchObject([
      { error: { code: 'ERR_BAD_REQUEST' } },
      { error: { code: 'ERR_DECRYPT_FAILED' } },
      { error: { code: 'ERR_ENCRYPTION_CONTEXT' } },
      { digest: expectedDigest('email', OTHER_EMAIL) },
    ]);
    expect(JSON.stringify(res.json)).not.toContain('not an email');
  });

  it('refuses an unknown field and more than 1000 values', async () => {
    expect(await post('/v1/pii/blind-index', { field: 'dob', values: [await esdkValue('1970-01-01', 'email')] })).toMatchObject({ status: 400, json: { error: { code: 'ERR_BAD_REQUEST' } } });
    const tooMany = await post('/v1/pii/blind-index', { field: 'email', values: Array.from({ length: 1001 }, () => ({ esdk: 'AAAA' })) });
    expect(tooMany).toMatchObject({ status: 413, json: { error: { code: 'ERR_BATCH_TOO_LARGE' } } });
  });
});

describe('operation binding: a value sealed for one operation (or field) is refused by every other', () => {
  it('an ESDK value {purpose: pii-value, field: ssn} indexes as ssn, and is refused as email and by redact', async () => {
    const value = await esdkValue(SSN, 'ssn');
    expect((await post('/v1/pii/blind-index', { field: 'ssn', values: [value] })).json.results).toEqual([{ digest: expectedDigest('ssn', '536221184') }]);
    const relabelled = await post('/v1/pii/blind-index', { field: 'email', values: [value] });
    expect(relabelled.json.results).toMatchObject([{ error: { code: 'ERR_ENCRYPTION_CONTEXT' } }]);
    // Redaction keeps bare 9-digit numbers: without the binding this would hand the SSN back in clear.
    const replayed = await post('/v1/pii/redact', { text: value });
    expect(replayed).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    expect(JSON.stringify(replayed.json)).not.toContain('536');
  });

  it('the retired purpose=pii, and pii-value without a field: the key policy refuses producers, and so does the enclave', async () => {
    // First line: the generated card key policy lets producers use only the API's purposes.
    await expect(producer.seal(SSN, { purpose: 'pii' })).rejects.toMatchObject({ name: 'AccessDeniedException' });
    // Second line, for a key whose policy is looser: a test-only statement lifts the condition, so
    // the enclave's own check is what refuses.
    const admin = stack.kms('admin');
    const current = JSON.parse((await admin.send(new GetKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default' }))).Policy!);
    const loosened = {
      ...current,
      Statement: [...current.Statement, { Sid: 'TestOnlyProducerAnyContext', Effect: 'Allow', Principal: { AWS: stack.principal('client').arn }, Action: 'kms:GenerateDataKey', Resource: '*' }],
    };
    await admin.send(new PutKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default', Policy: JSON.stringify(loosened) }));
    let old: { esdk: string };
    let noField: { esdk: string };
    try {
      old = await esdkPii(SSN, { purpose: 'pii' });
      noField = await esdkPii(SSN, { purpose: 'pii-value' });
    } finally {
      await admin.send(new PutKeyPolicyCommand({ KeyId: stack.keyArn, PolicyName: 'default', Policy: JSON.stringify(current) }));
    }
    expect((await post('/v1/pii/blind-index', { field: 'ssn', values: [noField, old] })).json.results).toMatchObject([
      { error: { code: 'ERR_ENCRYPTION_CONTEXT' } },
      { error: { code: 'ERR_ENCRYPTION_CONTEXT' } },
    ]);
    expect(await post('/v1/pii/redact', { text: old })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
    expect(await post('/v1/cards/tokenize', { card: old })).toMatchObject({ status: 400, json: { error: { code: 'ERR_ENCRYPTION_CONTEXT' } } });
  });

  it('HPKE binds the field into info: a value sealed for ssn fails to open as email or as redaction text', async () => {
    const value = await hpkePii(SSN, { purpose: 'pii-value', field: 'ssn' });
    expect((await post('/v1/pii/blind-index', { field: 'ssn', values: [value] })).json.results).toEqual([{ digest: expectedDigest('ssn', '536221184') }]);
    expect((await post('/v1/pii/blind-index', { field: 'email', values: [value] })).json.results).toMatchObject([{ error: { code: 'ERR_DECRYPT_FAILED' } }]);
    expect(await post('/v1/pii/redact', { text: value })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
  });
});

describe('plaintext stays inside', () => {
  it('no original email, phone, SSN, card number, IBAN or plaintext key on any parent socket or log line', () => {
    const compact = (s: string) => s.replace(/[^0-9A-Za-z@.+]/g, '');
    const secrets: Record<string, Uint8Array | string> = {
      email: EMAIL,
      'email (lower case)': EMAIL.toLowerCase(),
      'other email': OTHER_EMAIL,
      phone: PHONE,
      'phone digits': '4155550132',
      'international phone': PHONE_INTL,
      'international phone digits': compact(PHONE_INTL).slice(1),
      SSN: SSN,
      'SSN digits': compact(SSN),
      card: CARD,
      'card digits': compact(CARD),
      'card middle digits': compact(CARD).slice(6, -4),
      IBAN: IBAN,
      'IBAN compact': compact(IBAN),
    };
    for (const [name, key] of Object.entries(stack.plaintextKeys)) secrets[`${name} key`] = key;
    const view = { ...parentView(stack), 'the enclave output': stack.enclaveOutput() };
    // The redacted answers did cross the parent (so the check below is looking at real traffic).
    expect(stack.taps.http.bytes().includes(Buffer.from(JSON.stringify(REDACTED)))).toBe(true);
    expect(findLeaks(view, secrets)).toEqual([]);
  });
});
