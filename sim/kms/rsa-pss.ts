/**
 * RSASSA-PSS over a digest the caller computed (KMS Sign/Verify with MessageType DIGEST): Node signs
 * PSS only over whole messages, so the encoding is done here (EMSA-PSS, RFC 8017 §9.1, MGF1 with the
 * same hash, salt as long as the digest, as KMS uses) and the raw RSA primitive applied with
 * RSA_NO_PADDING. Moduli are whole bytes (2048, 3072, 4096), so emLen = k and emBits = 8k − 1.
 */
import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

type Hash = 'sha256' | 'sha384' | 'sha512';

/** MGF1 (RFC 8017 §B.2.1). */
function mgf1(hash: Hash, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * seed.length < length + seed.length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function mPrimeHash(hash: Hash, mHash: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
}

function modulusBytes(key: KeyObject): number {
  return (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
}

export function pssSignDigest(privateKey: KeyObject, hash: Hash, mHash: Uint8Array): Buffer {
  const k = modulusBytes(privateKey);
  const hLen = mHash.length;
  const salt = randomBytes(hLen);
  const h = mPrimeHash(hash, mHash, salt);
  const db = Buffer.concat([Buffer.alloc(k - 2 * hLen - 2), Buffer.of(0x01), salt]);
  const mask = mgf1(hash, h, k - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & 0x7f; // 8·emLen − emBits = 1 leftmost bit
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([db, h, Buffer.of(0xbc)]));
}

export function pssVerifyDigest(publicKey: KeyObject, hash: Hash, mHash: Uint8Array, signature: Uint8Array): boolean {
  const k = modulusBytes(publicKey);
  const hLen = mHash.length;
  if (signature.length !== k) return false;
  let em: Buffer;
  try {
    em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false;
  }
  if (em.length !== k || em[k - 1] !== 0xbc || (em[0]! & 0x80) !== 0) return false;
  const db = Buffer.from(em.subarray(0, k - hLen - 1));
  const h = em.subarray(k - hLen - 1, k - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & 0x7f;
  const psLength = k - 2 * hLen - 2;
  if (!db.subarray(0, psLength).every((b) => b === 0) || db[psLength] !== 0x01) return false;
  const expected = mPrimeHash(hash, mHash, db.subarray(psLength + 1));
  return timingSafeEqual(expected, h);
}
