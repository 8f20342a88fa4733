/**
 * Shared by mutation-vector.test.ts and mutation-random.test.ts. Damaged CiphertextForRecipient may
 * only end as ERR_CMS_MALFORMED, ERR_DECRYPT_FAILED, or the original plaintext; never another
 * exception.
 *
 * One documented exception to "never a wrong plaintext": CMS EnvelopedData has no integrity
 * protection (RFC 5652 §6; AES-CBC is malleable), so a change inside the IV or the encrypted
 * content octets can open to different bytes when the last block's padding survives. KMS
 * responses get their integrity from TLS, which the enclave terminates itself (docs/architecture.md).
 * Such outcomes are allowed only for changes confined to those two regions.
 */
import * as asn1js from 'asn1js';
import { expect } from 'vitest';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { failureOf, hex, nodeAt } from './helpers.js';
import type { KeyObject } from 'node:crypto';

export interface Fixture {
  name: string;
  cms: Uint8Array;
  key: KeyObject;
  plaintext: string; // hex
  /** Offsets of the IV and of the encrypted content octets (chunk headers excluded). */
  malleable: ReadonlySet<number>;
}

function malleableOffsets(cms: Uint8Array): Set<number> {
  const parsed = parseCiphertextForRecipient(cms);
  const bytes = Buffer.from(cms);
  const offsets = new Set<number>();
  const mark = (part: Uint8Array, from = 0): number => {
    const start = bytes.indexOf(Buffer.from(part), from);
    expect(start).toBeGreaterThan(0);
    for (let i = start; i < start + part.byteLength; i++) offsets.add(i);
    return start + part.byteLength;
  };
  const ivEnd = mark(parsed.iv);
  // Content chunks follow the IV in order; mark each chunk's octets.
  const root = asn1js.fromBER(cms).result;
  const content = nodeAt(root, [1, 0, 2, 2]);
  const chunks = content.idBlock.isConstructed
    ? (content as asn1js.Constructed).valueBlock.value.map((chunk) => (chunk as asn1js.OctetString).valueBlock.valueHexView)
    : [(content as asn1js.Primitive).valueBlock.valueHexView];
  chunks.reduce((from, chunk) => mark(chunk, from), ivEnd);
  return offsets;
}

export function fixture(name: string, cms: Uint8Array, key: KeyObject): Fixture {
  return { name, cms, key, plaintext: hex(openCiphertextForRecipient(cms, key)), malleable: malleableOffsets(cms) };
}

export type Outcome = 'ERR_CMS_MALFORMED' | 'ERR_DECRYPT_FAILED' | 'original' | 'malleated';

/** Opens `mutated`; fails the test on any other exception or on a wrong plaintext outside the malleable region. */
export function outcomeOf(f: Fixture, mutated: Uint8Array, changed: readonly number[] | 'shifted'): Outcome {
  let plaintext: Uint8Array | undefined;
  const failure = failureOf(() => {
    plaintext = openCiphertextForRecipient(mutated, f.key);
  });
  if (failure !== 'none') return failure;
  if (hex(plaintext!) === f.plaintext) return 'original';
  const confined = changed !== 'shifted' && changed.every((offset) => f.malleable.has(offset));
  expect(confined, `${f.name}: wrong plaintext from a change outside IV/content at ${String(changed)}`).toBe(true);
  return 'malleated';
}

export function tally(outcomes: Outcome[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ERR_CMS_MALFORMED: 0, ERR_DECRYPT_FAILED: 0, original: 0, malleated: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  return counts;
}

