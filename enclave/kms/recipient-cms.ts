/**
 * Opening KMS `CiphertextForRecipient` inside the enclave: a BER CMS ContentInfo/EnvelopedData
 * (RFC 5652) whose layout is pinned in docs/formats.md 5.3.
 *
 * Parsing accepts only what KMS sends, with the rules of the two public parsers:
 * aws/aws-nitro-enclaves-sdk-c source/cms.c `aws_cms_parse_enveloped_data` and
 * edgebitio/enclaver enclaver/src/proxy/pkcs7.rs: id-envelopedData, EnvelopedData version 2,
 * exactly one KeyTransRecipientInfo of version 2 (subjectKeyIdentifier rid), RSAES-OAEP with
 * SHA-256 and MGF1-SHA-256 and the empty label, id-data content, AES-256-CBC with a 16-byte IV,
 * encryptedContent either constructed from OCTET STRING chunks (form A) or one implicit primitive
 * (form B), no trailing bytes. We are stricter than both where KMS never varies: no originatorInfo,
 * no unprotectedAttrs, no extra elements, clean BER (no overlong lengths, lengths that agree with
 * the contents, constructed bits that agree with the types), ciphertext a non-zero multiple of the
 * AES block. pkijs checks the schema; the counts and the BER hygiene are checked here, because
 * pkijs and asn1js accept extra elements and some inconsistent lengths (see parseChecked).
 *
 * Errors (docs/conventions.md item 1-2): a structural violation is ServiceError ERR_CMS_MALFORMED naming the
 * broken rule (structure is public: it says nothing about keys); every failure that depends on a
 * secret (RSA-OAEP decoding, the CEK length, CBC padding) is the one DecryptionFailedError.
 * A recipient identifier that is not SHA-256 of our own SubjectPublicKeyInfo is also
 * ERR_DECRYPT_FAILED, although the rid is public: "this was encrypted to another key" is the
 * wrong-key case, and one code for it means the caller sees the same answer whether the wrong key
 * is caught by the rid or (with a forged rid) by OAEP. The rid reason stays in `cause`.
 */
import { constants, createDecipheriv, createHash, createPublicKey, KeyObject, privateDecrypt } from 'node:crypto';
import { cipherKey } from '../../shared/crypto/cipher-key.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DecryptionFailedError, EnclaveKitError, ServiceError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { zero } from '../../shared/secure-buffer.js';

/** RFC 5652 §6.1, RFC 8017 appendix A, RFC 3565 §4.1, NIST CSOR. */
const OID = {
  data: '1.2.840.113549.1.7.1',
  envelopedData: '1.2.840.113549.1.7.3',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  sha256: '2.16.840.1.101.3.4.2.1',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

const SKI_BYTES = 32; // SHA-256 of the DER SPKI (docs/formats.md 5.3, VERIFIED on vector 3)
const IV_BYTES = 16;
const AES_BLOCK_BYTES = 16;
const CEK_BYTES = 32; // AES-256
const CONTEXT_SPECIFIC = 3; // asn1js tagClass of [n] tags

/**
 * asn1js resource limits for this one structure. The deepest node of a KMS response is at depth 10
 * (the MGF1 hash OID); the node budget leaves room for producers that chunk encryptedContent finely
 * (a 6144-byte input cannot hold more than ~340 chunks of 16 bytes).
 */
const BER_LIMITS = { maxDepth: 16, maxNodes: 512, parseEmbedded: false } as const;

export interface ParsedEnvelopedData {
  /** rid: the SubjectKeyIdentifier (SHA-256 of the recipient's DER SPKI). */
  recipientKeyId: Uint8Array;
  /** RSAES-OAEP(SHA-256, MGF1-SHA-256) encryption of the content-encryption key. */
  encryptedKey: Uint8Array;
  /** AES-256-CBC IV. */
  iv: Uint8Array;
  /** encryptedContent, chunks concatenated (form A) or as is (form B). */
  ciphertext: Uint8Array;
}

function malformed(rule: string, cause?: unknown): ServiceError {
  return new ServiceError(
    'ERR_CMS_MALFORMED',
    `CiphertextForRecipient: ${rule}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Parses `cms` and checks every structural rule above, without any key. The returned arrays are
 * copies (they do not alias `cms`).
 *
 * @throws ServiceError ERR_CMS_MALFORMED
 */
export function parseCiphertextForRecipient(cms: Uint8Array): ParsedEnvelopedData {
  if (!(cms instanceof Uint8Array)) throw new TypeError('cms must be a Uint8Array');
  if (cms.byteLength === 0) throw malformed('empty input');
  // Checked before parsing: KMS model, CiphertextForRecipient 1..6144 bytes (docs/formats.md 5.2).
  if (cms.byteLength > LIMITS.kmsCiphertextMaxBytes) {
    throw malformed(`larger than ${LIMITS.kmsCiphertextMaxBytes} bytes`);
  }
  try {
    return parseChecked(cms);
  } catch (error) {
    if (error instanceof EnclaveKitError) throw error;
    // pkijs/asn1js schema mismatches and anything else thrown on hostile bytes.
    throw malformed('not a CMS ContentInfo/EnvelopedData', error);
  }
}

function parseChecked(cms: Uint8Array): ParsedEnvelopedData {
  const decoded = asn1js.fromBER(cms, BER_LIMITS);
  if (decoded.offset === -1) throw malformed('not BER', new Error(decoded.result.error));
  if (decoded.offset !== cms.byteLength) throw malformed('trailing bytes after ContentInfo');
  const defect = encodingDefect(decoded.result);
  if (defect !== undefined) throw malformed('unclean BER encoding', new Error(defect));
  // asn1js is lenient in ways BER is not: it lets the last child of a definite-length element run
  // on past the parent's end (`31 82 01 6a` around a 0x16b-byte KTRI parses) and ignores the
  // length octet of an end-of-contents (`00 01` passes). Re-encoding the tree, which asn1js does
  // byte for byte for a well-formed input (long forms and indefinite forms are kept), and
  // comparing closes every such gap at once: the bytes must be exactly the tree we check below.
  // Done before pkijs, which retags nodes in place.
  if (!Buffer.from(decoded.result.toBER()).equals(cms)) throw malformed('inconsistent BER lengths');

  // ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT ANY } (RFC 5652 §3)
  const root = decoded.result;
  expectChildren(root, 2, 'ContentInfo must have exactly 2 elements');
  expectChildren(childrenOf(root)[1], 1, 'ContentInfo content [0] must hold exactly 1 element');
  const contentInfo = new pkijs.ContentInfo({ schema: root });
  if (contentInfo.contentType !== OID.envelopedData) throw malformed('contentType must be id-envelopedData');

  // EnvelopedData ::= SEQUENCE { version, originatorInfo [0] OPTIONAL, recipientInfos,
  //   encryptedContentInfo, unprotectedAttrs [1] OPTIONAL } (RFC 5652 §6.1)
  const envelopedRaw: asn1js.AsnType = contentInfo.content;
  expectChildren(envelopedRaw, 3, 'EnvelopedData must be version, recipientInfos, encryptedContentInfo only');
  const enveloped = new pkijs.EnvelopedData({ schema: envelopedRaw });
  if (enveloped.version !== 2) throw malformed('EnvelopedData version must be 2');
  const recipientInfosRaw = childrenOf(envelopedRaw)[1];
  if (enveloped.recipientInfos.length !== 1 || childrenOf(recipientInfosRaw).length !== 1) {
    throw malformed('exactly one RecipientInfo is required');
  }
  const recipientInfo = enveloped.recipientInfos[0];
  if (recipientInfo?.variant !== 1 || !(recipientInfo.value instanceof pkijs.KeyTransRecipientInfo)) {
    throw malformed('RecipientInfo must be a KeyTransRecipientInfo');
  }
  const ktriRaw = childrenOf(recipientInfosRaw)[0];
  expectChildren(ktriRaw, 4, 'KeyTransRecipientInfo must have exactly 4 elements');
  const ktri = recipientInfo.value;

  // KeyTransRecipientInfo, version 2 <=> rid is [0] subjectKeyIdentifier (RFC 5652 §6.2.1).
  if (ktri.version !== 2) throw malformed('KeyTransRecipientInfo version must be 2');
  const ridRaw = childrenOf(ktriRaw)[1];
  if (
    !(ridRaw instanceof asn1js.Primitive) ||
    ridRaw.idBlock.tagClass !== CONTEXT_SPECIFIC ||
    ridRaw.idBlock.tagNumber !== 0
  ) {
    throw malformed('rid must be a [0] subjectKeyIdentifier');
  }
  const recipientKeyId = ridRaw.valueBlock.valueHexView;
  if (recipientKeyId.byteLength !== SKI_BYTES) throw malformed('rid must be a 32-byte SHA-256 key identifier');
  checkOaep(childrenOf(ktriRaw)[2]);
  const encryptedKey = primitiveOctets(ktri.encryptedKey, 'encryptedKey must be a primitive OCTET STRING');
  if (encryptedKey.byteLength === 0) throw malformed('encryptedKey is empty');

  // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
  //   encryptedContent [0] IMPLICIT OPTIONAL } (RFC 5652 §6.1); KMS always sends the content.
  const eciRaw = childrenOf(envelopedRaw)[2];
  expectChildren(eciRaw, 3, 'EncryptedContentInfo must have exactly 3 elements');
  const eci = enveloped.encryptedContentInfo;
  if (eci.contentType !== OID.data) throw malformed('encrypted contentType must be id-data');
  const iv = checkAes256Cbc(childrenOf(eciRaw)[1]);
  const ciphertext = encryptedContentOf(eci.encryptedContent);
  if (ciphertext.byteLength === 0 || ciphertext.byteLength % AES_BLOCK_BYTES !== 0) {
    throw malformed('encryptedContent length must be a non-zero multiple of 16');
  }

  return {
    recipientKeyId: recipientKeyId.slice(),
    encryptedKey: encryptedKey.slice(),
    iv: iv.slice(),
    ciphertext, // already a fresh array
  };
}

/** RSAES-OAEP-params (RFC 8017 A.2.1): hashFunc sha256, maskGenFunc mgf1(sha256), empty label. */
function checkOaep(raw: asn1js.AsnType | undefined): void {
  const algorithm = algorithmIdentifier(raw, 'keyEncryptionAlgorithm');
  if (algorithm.algorithmId !== OID.rsaesOaep) throw malformed('keyEncryptionAlgorithm must be RSAES-OAEP');
  const params = algorithm.algorithmParams as asn1js.AsnType | undefined;
  const fields = params instanceof asn1js.Sequence ? childrenOf(params) : [];
  // hashFunc [0] and maskGenFunc [1] must be present: their DEFAULTs are SHA-1. pSourceFunc [2] may
  // be absent (the DEFAULT empty label, as KMS sends it) or an explicit empty label.
  if (fields.length < 2 || fields.length > 3 || !fields.every((field, index) => isExplicitTag(field, index))) {
    throw malformed('RSAES-OAEP parameters must be [0] hashFunc, [1] maskGenFunc, optional [2] pSourceFunc');
  }
  const [hashField, mgfField, pSourceField] = fields.map((field) => childrenOf(field)[0]);
  if (!isSha256(algorithmIdentifier(hashField, 'RSAES-OAEP hashFunc'))) throw malformed('RSAES-OAEP hashFunc must be SHA-256');
  const mgf = algorithmIdentifier(mgfField, 'RSAES-OAEP maskGenFunc');
  if (mgf.algorithmId !== OID.mgf1) throw malformed('RSAES-OAEP maskGenFunc must be MGF1');
  const mgfHash = algorithmIdentifier(mgf.algorithmParams as asn1js.AsnType | undefined, 'MGF1 parameters');
  if (!isSha256(mgfHash)) throw malformed('RSAES-OAEP MGF1 hash must be SHA-256');
  if (pSourceField !== undefined) {
    const pSource = algorithmIdentifier(pSourceField, 'RSAES-OAEP pSourceFunc');
    const label = pSource.algorithmParams as asn1js.AsnType | undefined;
    if (
      pSource.algorithmId !== OID.pSpecified ||
      !(label instanceof asn1js.OctetString) ||
      label.idBlock.isConstructed ||
      label.valueBlock.valueHexView.byteLength !== 0
    ) {
      throw malformed('RSAES-OAEP label must be empty');
    }
  }
}

/** `[tagNumber]` EXPLICIT around exactly one element. */
function isExplicitTag(node: asn1js.AsnType, tagNumber: number): boolean {
  const { tagClass, tagNumber: actual, isConstructed } = node.idBlock;
  return tagClass === CONTEXT_SPECIFIC && actual === tagNumber && isConstructed && childrenOf(node).length === 1;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2), nothing more. */
function algorithmIdentifier(raw: asn1js.AsnType | undefined, what: string): pkijs.AlgorithmIdentifier {
  const count = raw instanceof asn1js.Sequence ? childrenOf(raw).length : 0;
  if (count < 1 || count > 2) throw malformed(`${what} must be an AlgorithmIdentifier`);
  return new pkijs.AlgorithmIdentifier({ schema: raw });
}

/** SHA-256 AlgorithmIdentifier; parameters NULL or absent (RFC 4055 §2.1 says accept both). */
function isSha256(algorithm: pkijs.AlgorithmIdentifier): boolean {
  if (algorithm.algorithmId !== OID.sha256) return false;
  const params = algorithm.algorithmParams as asn1js.AsnType | undefined;
  return params === undefined || params instanceof asn1js.Null;
}

/** aes256-CBC with its IV as parameter (RFC 3565 §4.1): returns the IV. */
function checkAes256Cbc(raw: asn1js.AsnType | undefined): Uint8Array {
  const algorithm = algorithmIdentifier(raw, 'contentEncryptionAlgorithm');
  if (algorithm.algorithmId !== OID.aes256Cbc) throw malformed('contentEncryptionAlgorithm must be AES-256-CBC');
  const iv = primitiveOctets(algorithm.algorithmParams as asn1js.AsnType | undefined, 'AES-256-CBC parameter must be an OCTET STRING IV');
  if (iv.byteLength !== IV_BYTES) throw malformed('AES-256-CBC IV must be 16 bytes');
  return iv;
}

/**
 * encryptedContent [0]: form A, constructed, a list of primitive OCTET STRINGs (concatenated);
 * form B, one implicit primitive. pkijs has already retagged the node as OCTET STRING, so the form
 * is read from the constructed bit (sdk-c cms.c handles the same two forms).
 */
function encryptedContentOf(node: asn1js.AsnType | undefined): Uint8Array {
  if (node === undefined) throw malformed('encryptedContent is missing');
  if (!node.idBlock.isConstructed) {
    if (!(node instanceof asn1js.Primitive || node instanceof asn1js.OctetString)) throw malformed('encryptedContent has an unexpected form');
    return node.valueBlock.valueHexView.slice();
  }
  const chunks = childrenOf(node).map((chunk) =>
    primitiveOctets(chunk, 'encryptedContent chunks must be primitive OCTET STRINGs'),
  );
  return Buffer.concat(chunks);
}

function primitiveOctets(node: asn1js.AsnType | undefined, rule: string): Uint8Array {
  if (!(node instanceof asn1js.OctetString) || node.idBlock.isConstructed) throw malformed(rule);
  return node.valueBlock.valueHexView;
}

function childrenOf(node: asn1js.AsnType | undefined): asn1js.AsnType[] {
  // Sequence, Set and [n] constructed are all asn1js.Constructed; constructed strings are not
  // (and are never allowed where children are read).
  return node instanceof asn1js.Constructed ? node.valueBlock.value : [];
}

function expectChildren(node: asn1js.AsnType | undefined, count: number, rule: string): void {
  if (node === undefined || !node.idBlock.isConstructed || childrenOf(node).length !== count) throw malformed(rule);
}

/**
 * asn1js notes an empty value ("Zero buffer length") as a warning although it is valid BER; the
 * rules above judge empty fields themselves.
 */
const BENIGN_WARNINGS: ReadonlySet<string> = new Set(['Zero buffer length']);

/**
 * The first encoding defect anywhere in the tree: an asn1js warning (overlong length or tag,
 * missing end-of-contents, …), or a constructed bit that contradicts the type. asn1js parses a
 * SEQUENCE with the constructed bit cleared (`10` instead of `30`) as a SEQUENCE all the same;
 * X.690 §8.9.1 says a SEQUENCE is always constructed. Constructed OCTET STRINGs are valid BER and
 * are judged by the rules that read them.
 */
function encodingDefect(node: asn1js.AsnType): string | undefined {
  for (const block of [node, node.idBlock, node.lenBlock, node.valueBlock]) {
    const first = block.warnings.find((warning) => !BENIGN_WARNINGS.has(warning));
    if (first !== undefined) return first;
  }
  const constructedType = node instanceof asn1js.Constructed;
  if (constructedType !== node.idBlock.isConstructed && !(node instanceof asn1js.OctetString)) {
    return 'constructed bit contradicts the type';
  }
  for (const child of childrenOf(node)) {
    const defect = encodingDefect(child);
    if (defect !== undefined) return defect;
  }
  return undefined;
}

/**
 * Parses `cms`, checks that it is addressed to `privateKey`, unwraps the CEK with RSA-OAEP and
 * returns the AES-256-CBC plaintext. The CEK is zeroed before return; the caller owns (and should
 * zero) the returned plaintext.
 *
 * @throws ServiceError ERR_CMS_MALFORMED for structure, DecryptionFailedError for everything else.
 */
export function openCiphertextForRecipient(cms: Uint8Array, privateKey: KeyObject): Uint8Array {
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new TypeError('privateKey must be an RSA private KeyObject');
  }
  const parsed = parseCiphertextForRecipient(cms);
  if (!Buffer.from(parsed.recipientKeyId).equals(subjectKeyIdentifierOf(privateKey))) {
    throw new DecryptionFailedError({ cause: new Error('rid is not SHA-256 of our SubjectPublicKeyInfo') });
  }
  let cek: Buffer | undefined;
  try {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, parsed.encryptedKey);
    if (cek.byteLength !== CEK_BYTES) throw new Error('content-encryption key is not 32 bytes');
    const decipher = createDecipheriv('aes-256-cbc', cipherKey(cek), parsed.iv);
    const head = decipher.update(parsed.ciphertext);
    let tail: Buffer;
    try {
      tail = decipher.final();
    } catch (error) {
      zero(head);
      throw error;
    }
    const plaintext = new Uint8Array(head.byteLength + tail.byteLength);
    plaintext.set(head, 0);
    plaintext.set(tail, head.byteLength);
    zero(head, tail);
    return plaintext;
  } catch (cause) {
    throw new DecryptionFailedError({ cause });
  } finally {
    zero(cek);
  }
}

/** SHA-256 of the DER SubjectPublicKeyInfo: how KMS names the recipient (docs/formats.md 5.3). */
function subjectKeyIdentifierOf(privateKey: KeyObject): Buffer {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest();
}
