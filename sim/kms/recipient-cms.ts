/**
 * The KMS simulator's `CiphertextForRecipient`: a BER CMS ContentInfo/EnvelopedData (RFC 5652)
 * laid out byte for byte like the responses of real KMS (docs/formats.md 5.3, checked against the
 * vectors in test/vectors/kms/ by test/cms/build.test.ts):
 *
 *   ContentInfo, [0], EnvelopedData, EncryptedContentInfo and encryptedContent use the indefinite
 *   length form (`30 80 … 00 00`); everything inside the RecipientInfos SET is definite-length DER.
 *   One KeyTransRecipientInfo, version 2, rid = [0] SubjectKeyIdentifier = SHA-256(DER SPKI);
 *   RSAES-OAEP with hashFunc sha256 (NULL params), maskGenFunc mgf1-sha256, no pSourceFunc;
 *   AES-256-CBC with the 16-byte IV as parameter; encryptedContent [0] constructed, made of
 *   primitive OCTET STRING chunks ("form A", as the sdk-c "CMS response from KMS" vector).
 *
 * asn1js writes this layout directly: a constructed block with `lenBlock.isIndefiniteForm` is
 * written as `tag 80 … 00 00`, and definite children of it stay DER. A hand-written BER writer
 * would be about as long, so the library is used.
 */
import { constants, createCipheriv, createHash, createPublicKey, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { InputError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { zero } from '../../shared/secure-buffer.js';

/** RFC 5652 §6.1, RFC 8017 appendix A, RFC 3565 §4.1, NIST CSOR. */
const OID = {
  data: '1.2.840.113549.1.7.1',
  envelopedData: '1.2.840.113549.1.7.3',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  sha256: '2.16.840.1.101.3.4.2.1',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/**
 * Size of the OCTET STRING chunks of encryptedContent. 1000 is the CER fragment size
 * (X.690 §9.2) and the default of BouncyCastle's BEROctetStringGenerator, the usual Java
 * streaming CMS writer. Whether KMS chunks at 1000 is UNCONFIRMED: the public KMS samples hold at
 * most 48 bytes of content, in one chunk. Readers (OpenSSL, the sdk-c, ours) concatenate any
 * number of chunks.
 */
export const CONTENT_CHUNK_BYTES = 1000;

/** KMS requires RSA-2048 (aws-nitro-enclaves-sdk-c docs/kms-apis/RecipientRequest.md); 2048..4096 is accepted. */
export const RECIPIENT_RSA_MIN_BITS = 2048;
export const RECIPIENT_RSA_MAX_BITS = 4096;

const CEK_BYTES = 32; // AES-256
const IV_BYTES = 16; // AES block size, RFC 3565 §4.1 (AES-CBC parameter is the IV)

/**
 * Encrypts `plaintext` to the RSA key `recipientSpkiDer` (the attestation document's
 * `public_key`, a DER SubjectPublicKeyInfo) and returns the BER CMS bytes KMS returns as
 * `CiphertextForRecipient`. A fresh CEK and IV are drawn per call; the CEK is zeroed before return.
 *
 * @throws InputError ERR_BAD_REQUEST when the recipient key is not an RSA SPKI of 2048..4096 bits
 *   (the key comes from a peer's attestation document).
 * @throws RangeError when `plaintext` is empty or longer than the KMS plaintext limit (4096 bytes):
 *   the simulator itself chose it, so that is our bug, not the peer's.
 */
export function buildCiphertextForRecipient(plaintext: Uint8Array, recipientSpkiDer: Uint8Array): Uint8Array {
  if (!(plaintext instanceof Uint8Array) || !(recipientSpkiDer instanceof Uint8Array)) {
    throw new TypeError('plaintext and recipientSpkiDer must be Uint8Arrays');
  }
  if (plaintext.byteLength < 1 || plaintext.byteLength > LIMITS.kmsPlaintextMaxBytes) {
    throw new RangeError(`plaintext must be 1..${LIMITS.kmsPlaintextMaxBytes} bytes (KMS model)`);
  }
  const recipientKey = recipientRsaKey(recipientSpkiDer);

  const cek = randomBytes(CEK_BYTES);
  const iv = randomBytes(IV_BYTES);
  let encryptedKey: Buffer;
  let ciphertext: Buffer;
  try {
    // RSAES-OAEP, SHA-256, MGF1-SHA-256 (Node uses oaepHash for MGF1 too), empty label:
    // aws-nitro-enclaves-sdk-c source/attestation.c:173-175.
    encryptedKey = publicEncrypt(
      { key: recipientKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      cek,
    );
    // AES-256-CBC with PKCS#7 padding (RFC 5652 §6.3; sdk-c aws_cms_cipher_decrypt).
    const cipher = createCipheriv('aes-256-cbc', cek, iv);
    ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  } finally {
    zero(cek);
  }

  const rid = createHash('sha256').update(recipientSpkiDer).digest();
  return encodeEnvelopedData({ rid, encryptedKey, iv, ciphertext });
}

/** Parses and checks the recipient SPKI: RSA (not RSA-PSS, which forbids encryption), 2048..4096 bits. */
function recipientRsaKey(spkiDer: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new InputError('ERR_BAD_REQUEST', 'recipient public key is not a DER SubjectPublicKeyInfo', { cause });
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined || bits < RECIPIENT_RSA_MIN_BITS || bits > RECIPIENT_RSA_MAX_BITS) {
    throw new InputError(
      'ERR_BAD_REQUEST',
      `recipient public key must be RSA with ${RECIPIENT_RSA_MIN_BITS}..${RECIPIENT_RSA_MAX_BITS} bits`,
    );
  }
  return key;
}

interface EnvelopeParts {
  rid: Uint8Array;
  encryptedKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

const INDEFINITE = { lenBlock: { isIndefiniteForm: true } } as const;
const CONTEXT_SPECIFIC = 3; // asn1js tagClass for [n]

function oid(value: string): asn1js.ObjectIdentifier {
  return new asn1js.ObjectIdentifier({ value });
}

function sha256AlgorithmIdentifier(): asn1js.Sequence {
  return new asn1js.Sequence({ value: [oid(OID.sha256), new asn1js.Null()] });
}

function explicitTag(tagNumber: number, inner: asn1js.BaseBlock, indefinite = false): asn1js.Constructed {
  return new asn1js.Constructed({
    ...(indefinite ? INDEFINITE : {}),
    idBlock: { tagClass: CONTEXT_SPECIFIC, tagNumber },
    value: [inner],
  });
}

/**
 * The BER layout around given parts. Exported for tests that need a CMS with chosen parts (a known
 * CEK, a wrong-length key, chosen chunking); the simulator only calls buildCiphertextForRecipient.
 */
export function encodeEnvelopedData(parts: EnvelopeParts, chunkBytes = CONTENT_CHUNK_BYTES): Uint8Array {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError('chunkBytes must be a positive integer');
  // RFC 8017 appendix A.2.1: RSAES-OAEP-params; pSourceFunc omitted = empty label.
  const oaepParams = new asn1js.Sequence({
    value: [
      explicitTag(0, sha256AlgorithmIdentifier()),
      explicitTag(1, new asn1js.Sequence({ value: [oid(OID.mgf1), sha256AlgorithmIdentifier()] })),
    ],
  });
  // RFC 5652 §6.2.1, version 2 because rid is a subjectKeyIdentifier.
  const keyTransRecipientInfo = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 2 }),
      new asn1js.Primitive({ idBlock: { tagClass: CONTEXT_SPECIFIC, tagNumber: 0 }, valueHex: parts.rid }),
      new asn1js.Sequence({ value: [oid(OID.rsaesOaep), oaepParams] }),
      new asn1js.OctetString({ valueHex: parts.encryptedKey }),
    ],
  });
  const chunks: asn1js.OctetString[] = [];
  for (let offset = 0; offset < parts.ciphertext.byteLength; offset += chunkBytes) {
    chunks.push(new asn1js.OctetString({ valueHex: parts.ciphertext.subarray(offset, offset + chunkBytes) }));
  }
  const encryptedContentInfo = new asn1js.Sequence({
    ...INDEFINITE,
    value: [
      oid(OID.data),
      new asn1js.Sequence({ value: [oid(OID.aes256Cbc), new asn1js.OctetString({ valueHex: parts.iv })] }),
      new asn1js.Constructed({ ...INDEFINITE, idBlock: { tagClass: CONTEXT_SPECIFIC, tagNumber: 0 }, value: chunks }),
    ],
  });
  // RFC 5652 §6.1: version 2 (a KTRI of version 2 is present); no originatorInfo, no unprotectedAttrs.
  const envelopedData = new asn1js.Sequence({
    ...INDEFINITE,
    value: [new asn1js.Integer({ value: 2 }), new asn1js.Set({ value: [keyTransRecipientInfo] }), encryptedContentInfo],
  });
  const contentInfo = new asn1js.Sequence({
    ...INDEFINITE,
    value: [oid(OID.envelopedData), explicitTag(0, envelopedData, true)],
  });
  return new Uint8Array(contentInfo.toBER());
}
