/**
 * The enumeration attack (docs/architecture.md "Trust model": encrypted is not authenticated).
 * A token keeps BIN and last 4, so about 10^5 Luhn-valid middles remain per (BIN, last 4): whoever
 * can submit chosen PANs and see their tokens can map a victim's token back to its PAN. The
 * attacker here is the parent, or anyone holding an API token: the enclave's HPKE key is public
 * (read from the attestation document without verifying anything), so it seals candidates in
 * HPKE Base mode.
 *
 * - Public submission off (the default): every candidate is refused, no token comes back.
 * - Public submission on (a second stack, burst 3 per (BIN, last 4), 20 overall, refills far
 *   slower than the test runs): the attacker learns at most the burst's worth of mappings, one at
 *   a time or in a batch, and never the victim's; authenticated producers are not limited.
 * Loops are bounded: 50 candidates per stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnValid } from '../../enclave/cards/luhn.js';
import { parseAttestation } from '../../shared/attestation/index.js';
import { decodeHpkeUserData, generateHpkeKeyPair, HPKE_INFO, sealedInputInfo, sealHpke } from '../../shared/hpke/index.js';
import { esdkProducer, type Producer } from './producer.js';
import { parentView, startStack, type Stack } from './stack.js';
import { findLeaks } from './tap.js';

const CANDIDATES = 50;
const PUBLIC = { enabled: true, perCardBurst: 3, perCardPerHour: 0.001, overallBurst: 20, overallPerSecond: 0.001 };

/** The first `count` Luhn-valid 16-digit PANs with this BIN and last 4, middles counting up from `from`. */
function candidates(bin: string, last4: string, count: number, from = 0): string[] {
  const out: string[] = [];
  for (let middle = from; out.length < count && middle < 1_000_000; middle++) {
    const pan = `${bin}${String(middle).padStart(6, '0')}${last4}`;
    if (luhnValid(pan)) out.push(pan);
  }
  return out;
}

// The victim's card, tokenized by a legitimate producer; the attacker sees the token (it relays it).
const VICTIM = candidates('476173', '0119', 1, 997_000)[0]!; // middle 997…: see tap.ts findLeaks

let closed: Stack; // public submission off
let open: Stack; // public submission on, small limits
let producers: Producer[] = [];
const returned = new Set<string>();

beforeAll(async () => {
  [closed, open] = await Promise.all([startStack(), startStack({ cards: { publicSubmission: PUBLIC } })]);
  await Promise.all([closed.waitReady(), open.waitReady()]);
  producers = [closed, open].map((s) => esdkProducer(s.sim, s.principal('client'), s.keyArn));
}, 120_000);

afterAll(async () => {
  for (const p of producers) p.close();
  await Promise.all([closed?.close(), open?.close()]);
});

/** The attacker's view of the enclave key: straight from the document, no verification needed. */
async function enclaveKey(stack: Stack): Promise<Uint8Array> {
  const res = await stack.api('/v1/attestation');
  return decodeHpkeUserData(parseAttestation(Buffer.from(res.json.document, 'base64')).userData).hpke.publicKey;
}

async function sealBase(key: Uint8Array, pan: string): Promise<{ hpke: { enc: string; ciphertext: string } }> {
  const sealed = await sealHpke(key, Buffer.from(JSON.stringify({ pan, exp: '12/39' })), { info: HPKE_INFO.card });
  return { hpke: { enc: Buffer.from(sealed.enc).toString('base64'), ciphertext: Buffer.from(sealed.ciphertext).toString('base64') } };
}

async function tokenize(stack: Stack, card: unknown): Promise<{ status: number; json: any }> {
  const res = await stack.api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card }) });
  if (typeof res.json?.token === 'string') returned.add(res.json.token);
  return res;
}

/** One candidate after another; returns the tokens learned and the error codes seen. */
async function stream(stack: Stack, pans: readonly string[]): Promise<{ learned: Map<string, string>; codes: Map<string, number>; statuses: Set<number> }> {
  const key = await enclaveKey(stack);
  const learned = new Map<string, string>();
  const codes = new Map<string, number>();
  const statuses = new Set<number>();
  for (const pan of pans) {
    const res = await tokenize(stack, await sealBase(key, pan));
    statuses.add(res.status);
    if (res.status === 200) learned.set(res.json.token, pan);
    else codes.set(res.json.error.code, (codes.get(res.json.error.code) ?? 0) + 1);
  }
  return { learned, codes, statuses };
}

describe('public submission off (the default)', () => {
  it('the victim token exists (a legitimate ESDK producer)', async () => {
    const res = await tokenize(closed, { esdk: await producers[0]!.sealCard({ pan: VICTIM, exp: '09/38' }) });
    expect(res.status).toBe(200);
  });

  it('every Base-mode candidate is refused with 403 ERR_SENDER_NOT_ALLOWED: no mapping is learned', async () => {
    const pans = candidates(VICTIM.slice(0, 6), VICTIM.slice(-4), CANDIDATES, 996_800);
    expect(pans).toContain(VICTIM);
    const { learned, codes, statuses } = await stream(closed, pans);
    expect(learned.size).toBe(0);
    expect([...statuses]).toEqual([403]);
    expect(Object.fromEntries(codes)).toEqual({ ERR_SENDER_NOT_ALLOWED: CANDIDATES });
  });

  it('a batch of candidates is refused item by item', async () => {
    const key = await enclaveKey(closed);
    const pans = candidates(VICTIM.slice(0, 6), VICTIM.slice(-4), CANDIDATES, 996_500);
    const res = await closed.api('/v1/cards/tokenize-batch', { method: 'POST', body: JSON.stringify({ cards: await Promise.all(pans.map((p) => sealBase(key, p))) }) });
    expect(res.status).toBe(200);
    expect(res.json.results).toHaveLength(CANDIDATES);
    expect(res.json.results.every((r: any) => r.error?.code === 'ERR_SENDER_NOT_ALLOWED' && r.token === undefined)).toBe(true);
  });

  it('Auth mode with the attacker’s own sender key is refused too', async () => {
    const attacker = await generateHpkeKeyPair();
    try {
      const sealed = await sealHpke(await enclaveKey(closed), Buffer.from(JSON.stringify({ pan: VICTIM, exp: '12/39' })), { info: HPKE_INFO.card, senderPrivateKey: attacker.privateKey });
      const hpke = { enc: Buffer.from(sealed.enc).toString('base64'), ciphertext: Buffer.from(sealed.ciphertext).toString('base64'), sender: Buffer.from(attacker.publicKey).toString('base64') };
      expect(await tokenize(closed, { hpke })).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
      const { sender: _omitted, ...withoutSender } = hpke;
      // Without `sender` the enclave tries its allowlist, then Base mode: an Auth-mode message opens as neither.
      expect(await tokenize(closed, { hpke: withoutSender })).toMatchObject({ status: 400, json: { error: { code: 'ERR_DECRYPT_FAILED' } } });
    } finally {
      attacker.privateKey.fill(0);
    }
  });
});

describe('public submission on, with in-enclave rate limits', () => {
  it('refuses PAN lengths whose expected guesses fall below the target (15-digit Amex, 14-digit Diners); producers still tokenize them', async () => {
    const key = await enclaveKey(open);
    for (const pan of ['378282246310005', '30569309025904']) {
      expect(await tokenize(open, await sealBase(key, pan))).toMatchObject({ status: 403, json: { error: { code: 'ERR_SENDER_NOT_ALLOWED' } } });
      expect((await tokenize(open, { esdk: await producers[1]!.sealCard({ pan, exp: '09/38' }) })).status).toBe(200);
    }
  });

  /** Public submissions granted so far on `open` (each took one token from the overall bucket). */
  let granted = 0;
  let victimToken = '';

  it('the victim token exists (a legitimate ESDK producer)', async () => {
    const res = await tokenize(open, { esdk: await producers[1]!.sealCard({ pan: VICTIM, exp: '09/38' }) });
    expect(res.status).toBe(200);
    victimToken = res.json.token;
  });

  it('a stream of candidates for one (BIN, last 4) gets the burst, then 429 ERR_RATE_LIMITED', async () => {
    const pans = candidates(VICTIM.slice(0, 6), VICTIM.slice(-4), CANDIDATES, 996_800);
    expect(pans).toContain(VICTIM);
    const { learned, codes } = await stream(open, pans);
    granted += learned.size;
    expect(learned.size).toBeLessThanOrEqual(PUBLIC.perCardBurst);
    expect(learned.size).toBe(PUBLIC.perCardBurst); // the limiter is not simply closed
    expect(Object.fromEntries(codes)).toEqual({ ERR_RATE_LIMITED: CANDIDATES - PUBLIC.perCardBurst });
    // The burst went to the first candidates; the victim's mapping is never learned.
    expect([...learned.values()]).toEqual(pans.slice(0, PUBLIC.perCardBurst));
    expect(learned.has(victimToken)).toBe(false);
  });

  it('a refused request says nothing about the candidate (same answer for the victim PAN)', async () => {
    const key = await enclaveKey(open);
    const forVictim = await tokenize(open, await sealBase(key, VICTIM));
    const forOther = await tokenize(open, await sealBase(key, candidates(VICTIM.slice(0, 6), VICTIM.slice(-4), 1, 1)[0]!));
    expect(forVictim).toEqual({ status: 429, json: { error: { code: 'ERR_RATE_LIMITED', message: 'rate limit exceeded' } } });
    expect(forOther).toEqual(forVictim);
  });

  it('batching does not get around the per-card limit', async () => {
    const key = await enclaveKey(open);
    const pans = candidates('530125', '7781', CANDIDATES);
    const res = await open.api('/v1/cards/tokenize-batch', { method: 'POST', body: JSON.stringify({ cards: await Promise.all(pans.map((p) => sealBase(key, p))) }) });
    expect(res.status).toBe(200);
    const results = res.json.results as any[];
    const tokens = results.filter((r) => typeof r.token === 'string').map((r) => r.token as string);
    tokens.forEach((t) => returned.add(t));
    granted += tokens.length;
    expect(tokens.length).toBeLessThanOrEqual(PUBLIC.perCardBurst);
    expect(tokens.length).toBe(PUBLIC.perCardBurst);
    expect(results.filter((r) => r.error?.code === 'ERR_RATE_LIMITED')).toHaveLength(CANDIDATES - PUBLIC.perCardBurst);
  });

  it('spreading candidates over many (BIN, last 4) runs into the overall limit', async () => {
    const key = await enclaveKey(open);
    // One candidate per last 4: each per-card bucket is fresh, only the overall bucket counts.
    const pans = Array.from({ length: 30 }, (_, i) => candidates('601100', String(2000 + i), 1)[0]!);
    const { learned, codes } = await stream(open, pans);
    expect(learned.size).toBe(PUBLIC.overallBurst - granted);
    expect(Object.fromEntries(codes)).toEqual({ ERR_RATE_LIMITED: pans.length - learned.size });
  });

  it('public submission covers card tokenization only: anonymous blind-index values are refused (no SSN oracle)', async () => {
    const key = await enclaveKey(open);
    // 50 SSN candidates: with digests for all of them, a digest seen elsewhere maps back to its SSN.
    const ssns = Array.from({ length: CANDIDATES }, (_, i) => `536-22-${String(1100 + i).padStart(4, '0')}`);
    const values = await Promise.all(
      ssns.map(async (ssn) => {
        const sealed = await sealHpke(key, Buffer.from(ssn), { info: sealedInputInfo('pii-value', 'ssn') });
        return { hpke: { enc: Buffer.from(sealed.enc).toString('base64'), ciphertext: Buffer.from(sealed.ciphertext).toString('base64') } };
      }),
    );
    const res = await open.api('/v1/pii/blind-index', { method: 'POST', body: JSON.stringify({ field: 'ssn', values }) });
    expect(res.status).toBe(200);
    expect(res.json.results.filter((r: any) => typeof r.digest === 'string')).toHaveLength(0);
    expect(res.json.results.every((r: any) => r.error?.code === 'ERR_SENDER_NOT_ALLOWED')).toBe(true);
  });

  it('authenticated producers are not limited: the victim’s card still tokenizes', async () => {
    const res = await tokenize(open, { esdk: await producers[1]!.sealCard({ pan: VICTIM, exp: '09/38' }) });
    expect(res).toMatchObject({ status: 200, json: { token: victimToken } });
  });
});

describe('residual risk (docs/api.md, "Public submission")', () => {
  it('the limits live in enclave memory: a parent that restarts the enclave gets a fresh burst per restart', async () => {
    await open.stopEnclave();
    await open.startEnclave();
    await open.waitReady();
    // Candidates past the ones the first burst answered, for the same exhausted (BIN, last 4).
    const pans = candidates(VICTIM.slice(0, 6), VICTIM.slice(-4), 10, 995_000);
    const { learned, codes } = await stream(open, pans);
    expect(learned.size).toBe(PUBLIC.perCardBurst);
    expect(Object.fromEntries(codes)).toEqual({ ERR_RATE_LIMITED: pans.length - PUBLIC.perCardBurst });
  });
});

describe('plaintext stays inside', () => {
  it('the victim PAN and its middle digits never cross either parent; no plaintext key does', () => {
    for (const stack of [closed, open]) {
      const secrets: Record<string, Uint8Array | string> = { 'victim PAN': VICTIM, 'victim middle digits': VICTIM.slice(6, -4) };
      for (const [name, key] of Object.entries(stack.plaintextKeys)) secrets[`${name} key`] = key;
      // The HTTP tap carries the attacker's own candidates, sealed: the victim's is among them.
      expect(findLeaks({ ...parentView(stack), 'the enclave output': stack.enclaveOutput() }, secrets, returned)).toEqual([]);
    }
  });
});
