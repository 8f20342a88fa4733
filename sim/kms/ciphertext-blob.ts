/**
 * The simulator's CiphertextBlob format (opaque to clients, as KMS's is). Version 1:
 *
 *   offset  size  field
 *   0       4     magic "ekms"
 *   4       1     format version = 1
 *   5       16    key id (the UUID's 16 bytes)
 *   21      4     key version index, uint32 big-endian (0 = original material, +1 per rotation)
 *   25      12    AES-GCM IV (random)
 *   37      n     AES-256-GCM ciphertext of the plaintext
 *   37+n    16    GCM tag
 *
 * AAD = bytes 0..25 (magic, version, key id, key version) ‖ encodeEncryptionContext(context), so
 * a blob moved to another key or version, or opened with another context, fails the tag check.
 * Size: 53 bytes of overhead, so a 4096-byte plaintext gives 4149 bytes (model limit 6144).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { bytesToUuid, uuidToBytes } from './arn.js';
import { encodeEncryptionContext } from './encryption-context.js';

const MAGIC = Buffer.from('ekms', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = 25;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const BLOB_OVERHEAD_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

export interface BlobHeader { keyId: string; keyVersion: number }

/** Reads the header of an untrusted blob; null when it is not a version-1 blob of ours. */
export function readBlobHeader(blob: Uint8Array): BlobHeader | null {
  if (blob.length < BLOB_OVERHEAD_BYTES) return null;
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (!b.subarray(0, 4).equals(MAGIC) || b[4] !== FORMAT_VERSION) return null;
  return { keyId: bytesToUuid(b.subarray(5, 21)), keyVersion: b.readUInt32BE(21) };
}

function header(keyId: string, keyVersion: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h[4] = FORMAT_VERSION;
  uuidToBytes(keyId).copy(h, 5);
  h.writeUInt32BE(keyVersion, 21);
  return h;
}

export function sealBlob(
  material: Uint8Array,
  at: BlobHeader,
  context: Readonly<Record<string, string>>,
  plaintext: Uint8Array,
): Buffer {
  const h = header(at.keyId, at.keyVersion);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([h, encodeEncryptionContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([h, iv, body, cipher.getAuthTag()]);
}

/** Opens a blob whose header was read with readBlobHeader; null on any authentication failure. */
export function openBlob(
  material: Uint8Array,
  blob: Uint8Array,
  context: Readonly<Record<string, string>>,
): Buffer | null {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = b.subarray(0, HEADER_BYTES);
  const iv = b.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const body = b.subarray(HEADER_BYTES + IV_BYTES, b.length - TAG_BYTES);
  const tag = b.subarray(b.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([h, encodeEncryptionContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}
