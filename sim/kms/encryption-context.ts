/**
 * Encryption context: its canonical byte encoding, the AAD part of a ciphertext blob
 * (https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html: the context is
 * an unordered map of strings bound to the ciphertext as additional authenticated data).
 */

/**
 * uint16 pair count, then per pair, sorted by the key's UTF-8 bytes: uint16 key length, key,
 * uint16 value length, value. Sorting makes the encoding independent of JSON member order, as
 * KMS treats the context as an unordered map.
 */
export function encodeEncryptionContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context)
    .map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u16(pairs.length)];
  for (const [k, v] of pairs) parts.push(u16(k.length), k, u16(v.length), v);
  return Buffer.concat(parts);
}

function u16(n: number): Buffer {
  if (n > 0xffff) throw new RangeError('encryption context member too long');
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
