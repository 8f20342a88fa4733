/**
 * Each structural rule of the enclave's CMS parser (the sdk-c cms.c and enclaver pkcs7.rs rules,
 * docs/formats.md 5.3) broken one at a time on the real vector 3, and every secret-dependent failure.
 * Structure → ERR_CMS_MALFORMED; anything that needs a key to notice → ERR_DECRYPT_FAILED.
 */
import { constants, createCipheriv, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { DecryptionFailedError, ServiceError } from '../../shared/errors.js';
import { buildCiphertextForRecipient, encodeEnvelopedData } from '../../sim/kms/recipient-cms.js';
import { childrenAt, editCms, failureOf, hex, nodeAt, oidNode, replaceAt, rsaKeys, VECTOR_3, vector, vector3Key, vector3Spki } from './helpers.js';

const KTRI = [1, 0, 1, 0];
const OAEP_PARAMS = [...KTRI, 2, 1];
const ECI = [1, 0, 2];
const SHA1 = '1.3.14.3.2.26';

function malformedMessage(cms: Uint8Array): string {
  try {
    parseCiphertextForRecipient(cms);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('ERR_CMS_MALFORMED');
    return (error as ServiceError).message;
  }
  throw new Error('parse accepted a malformed CMS');
}

/** Vector 3 with one byte changed; checks the byte first so a changed vector fails loudly. */
function patched(offset: number, from: number, to: number): Uint8Array {
  const cms = vector(VECTOR_3);
  expect(cms[offset]).toBe(from);
  cms[offset] = to;
  return cms;
}

const integer = (value: number) => () => new asn1js.Integer({ value });
const octets = (length: number) => () => new asn1js.OctetString({ valueHex: new Uint8Array(length).fill(0xab) });
const algorithm = (oid: string, params?: asn1js.AsnType): asn1js.Sequence =>
  new asn1js.Sequence({ value: params === undefined ? [oidNode(oid)] : [oidNode(oid), params] });

/** [name, broken CMS, words the error message must contain] */
const STRUCTURE_CASES: [string, () => Uint8Array, RegExp][] = [
  ['contentType id-signedData', () => replaceAt(vector(VECTOR_3), [0], () => oidNode('1.2.840.113549.1.7.2')), /id-envelopedData/],
  ['EnvelopedData version 0', () => replaceAt(vector(VECTOR_3), [1, 0, 0], integer(0)), /EnvelopedData version/],
  ['EnvelopedData version 3', () => replaceAt(vector(VECTOR_3), [1, 0, 0], integer(3)), /EnvelopedData version/],
  [
    'two recipients',
    () => editCms(vector(VECTOR_3), (root) => childrenAt(root, [1, 0, 1]).push(nodeAt(asn1js.fromBER(vector(VECTOR_3)).result, KTRI))),
    /exactly one RecipientInfo/,
  ],
  ['no recipient', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, [1, 0, 1]).pop()), /not a CMS/],
  ['KTRI version 0', () => replaceAt(vector(VECTOR_3), [...KTRI, 0], integer(0)), /KeyTransRecipientInfo version/],
  [
    'rid as issuerAndSerialNumber with version 2',
    () => replaceAt(vector(VECTOR_3), [...KTRI, 1], () => new asn1js.Sequence({ value: [new asn1js.Sequence(), new asn1js.Integer({ value: 1 })] })),
    /subjectKeyIdentifier/,
  ],
  [
    'rid of 20 bytes (SHA-1 key id)',
    () => replaceAt(vector(VECTOR_3), [...KTRI, 1], () => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array(20) })),
    /32-byte/,
  ],
  ['keyEncryptionAlgorithm rsaEncryption (PKCS#1 v1.5)', () => replaceAt(vector(VECTOR_3), [...KTRI, 2, 0], () => oidNode('1.2.840.113549.1.1.1')), /RSAES-OAEP/],
  ['OAEP parameters missing', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, [...KTRI, 2]).pop()), /RSAES-OAEP parameters/],
  ['OAEP hashFunc SHA-1', () => replaceAt(vector(VECTOR_3), [...OAEP_PARAMS, 0, 0, 0], () => oidNode(SHA1)), /hashFunc must be SHA-256/],
  ['OAEP hashFunc SHA-384', () => replaceAt(vector(VECTOR_3), [...OAEP_PARAMS, 0, 0, 0], () => oidNode('2.16.840.1.101.3.4.2.2')), /hashFunc must be SHA-256/],
  ['OAEP hashFunc absent (DEFAULT SHA-1)', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, OAEP_PARAMS).shift()), /RSAES-OAEP parameters/],
  ['OAEP maskGenFunc not MGF1', () => replaceAt(vector(VECTOR_3), [...OAEP_PARAMS, 1, 0, 0], () => oidNode('1.2.840.113549.1.1.9')), /MGF1/],
  ['OAEP MGF1 hash SHA-1', () => replaceAt(vector(VECTOR_3), [...OAEP_PARAMS, 1, 0, 1, 0], () => oidNode(SHA1)), /MGF1 hash must be SHA-256/],
  [
    'OAEP hash params not NULL',
    () => replaceAt(vector(VECTOR_3), [...OAEP_PARAMS, 0, 0, 1], () => new asn1js.Integer({ value: 0 })),
    /hashFunc must be SHA-256/,
  ],
  [
    'OAEP non-empty label',
    () =>
      editCms(vector(VECTOR_3), (root) =>
        childrenAt(root, OAEP_PARAMS).push(
          new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 2 }, value: [algorithm('1.2.840.113549.1.1.9', octets(1)())] }),
        ),
      ),
    /label must be empty/,
  ],
  ['KTRI with a fifth element', () => editCms(vector(VECTOR_3), (root) => childrenAt(root, KTRI).push(new asn1js.Null())), /exactly 4 elements/],
  ['encryptedKey empty', () => replaceAt(vector(VECTOR_3), [...KTRI, 3], octets(0)), /encryptedKey/],
  ['encrypted contentType id-signedData', () => replaceAt(vector(VECTOR_3), [...ECI, 0], () => oidNode('1.2.840.113549.1.7.2')), /id-data/],
  ['AES-128-CBC', () => replaceAt(vector(VECTOR_3), [...ECI, 1, 0], () => oidNode('2.16.840.1.101.3.4.1.2')), /AES-256-CBC/],
  ['AES-256-GCM', () => replaceAt(vector(VECTOR_3), [...ECI, 1, 0], () => oidNode('2.16.840.1.101.3.4.1.46')), /AES-256-CBC/],
  ['IV of 8 bytes', () => replaceAt(vector(VECTOR_3), [...ECI, 1, 1], octets(8)), /IV must be 16 bytes/],
  ['IV absent', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, [...ECI, 1]).pop()), /OCTET STRING IV/],
  ['encryptedContent absent', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, ECI).pop()), /not a CMS/],
  ['encryptedContent chunk of 15 bytes', () => replaceAt(vector(VECTOR_3), [...ECI, 2, 0], octets(15)), /multiple of 16/],
  ['encryptedContent with no chunk', () => editCms(vector(VECTOR_3), (root) => void childrenAt(root, [...ECI, 2]).pop()), /multiple of 16/],
  [
    'encryptedContent chunk that is itself constructed',
    () =>
      replaceAt(vector(VECTOR_3), [...ECI, 2, 0], (old) => {
        const inner = new asn1js.OctetString({ valueHex: (old as asn1js.OctetString).valueBlock.valueHexView });
        return new asn1js.OctetString({ idBlock: { isConstructed: true }, lenBlock: { isIndefiniteForm: false }, isConstructed: true, value: [inner] });
      }),
    /not a CMS/, // pkijs's schema (a list of OCTET STRINGs) already refuses it
  ],
  [
    'originatorInfo present',
    () =>
      editCms(vector(VECTOR_3), (root) =>
        childrenAt(root, [1, 0]).splice(1, 0, new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] })),
      ),
    /EnvelopedData must be/,
  ],
  [
    'unprotectedAttrs present',
    () =>
      editCms(vector(VECTOR_3), (root) =>
        childrenAt(root, [1, 0]).push(
          new asn1js.Constructed({
            idBlock: { tagClass: 3, tagNumber: 1 },
            value: [new asn1js.Sequence({ value: [oidNode('1.2.3.4'), new asn1js.Set({ value: [new asn1js.Integer({ value: 1 })] })] })],
          }),
        ),
      ),
    /EnvelopedData must be/,
  ],
  ['ContentInfo with a third element', () => editCms(vector(VECTOR_3), (root) => childrenAt(root, []).push(new asn1js.Null())), /ContentInfo must have/],
  ['trailing bytes', () => new Uint8Array([...vector(VECTOR_3), 0x00, 0x00]), /trailing bytes/],
  ['truncated (last end-of-contents missing)', () => vector(VECTOR_3).subarray(0, 459), /not BER/],
  [
    'overlong length form',
    // The first OID's length 09 written as 81 09: legal BER, never what KMS writes (asn1js warns).
    () => {
      const v = vector(VECTOR_3);
      return new Uint8Array([...v.subarray(0, 3), 0x81, ...v.subarray(3)]);
    },
    /unclean BER/,
  ],
  // asn1js leniencies the parser closes (found by mutation-vector.test.ts):
  ['SET length one short (the KTRI runs past it)', () => patched(23, 0x6b, 0x6a), /inconsistent BER lengths/],
  ['AlgorithmIdentifier length one short (the IV runs past it)', () => patched(401, 0x1d, 0x1c), /inconsistent BER lengths/],
  ['last end-of-contents with length 1', () => patched(460, 0x00, 0x01), /inconsistent BER lengths/],
  ['OAEP parameters SEQUENCE without the constructed bit (10 for 30)', () => patched(78, 0x30, 0x10), /unclean BER/],
  ['empty input', () => new Uint8Array(0), /empty/],
  ['fixed pseudo-random bytes', () => new Uint8Array(300).map((_, i) => (i * 73 + 41) & 0xff), /CiphertextForRecipient: /],
];

describe('parseCiphertextForRecipient: structural rules → ERR_CMS_MALFORMED', () => {
  it('the unedited vector passes (so every case below fails for its own edit)', () => {
    expect(editCms(vector(VECTOR_3), () => undefined)).toEqual(vector(VECTOR_3));
    expect(() => parseCiphertextForRecipient(vector(VECTOR_3))).not.toThrow();
  });

  it.each(STRUCTURE_CASES)('%s', (_, make, rule) => {
    const cms = make();
    expect(malformedMessage(cms)).toMatch(rule);
    // open gives the same structural error, before touching the key.
    expect(failureOf(() => openCiphertextForRecipient(cms, vector3Key()))).toBe('ERR_CMS_MALFORMED');
  });

  it('refuses more than 6144 bytes before parsing; 6144 itself is parsed', () => {
    // Find an encryptedKey length for which the layout with 16-byte content chunks hits 6144 exactly.
    const build = (ekBytes: number, chunks: number) =>
      encodeEnvelopedData({ rid: new Uint8Array(32), encryptedKey: new Uint8Array(ekBytes), iv: new Uint8Array(16), ciphertext: new Uint8Array(chunks * 16) }, 16);
    let atLimit: Uint8Array | undefined;
    let found = { ekBytes: 0, chunks: 0 };
    for (let ekBytes = 256; atLimit === undefined && ekBytes < 300; ekBytes++) {
      const chunks = Math.floor((6144 - build(ekBytes, 0).byteLength) / 18);
      const candidate = build(ekBytes, chunks);
      if (candidate.byteLength === 6144) {
        atLimit = candidate;
        found = { ekBytes, chunks };
      }
    }
    expect(atLimit?.byteLength).toBe(6144);
    expect(parseCiphertextForRecipient(atLimit!).ciphertext.byteLength).toBe(found.chunks * 16);
    const over = build(found.ekBytes, found.chunks + 1);
    expect(over.byteLength).toBe(6144 + 18);
    expect(malformedMessage(over)).toMatch(/larger than 6144 bytes/);
  });

  it('accepts what the rules allow but KMS does not send: explicit empty label, absent hash params, form B', () => {
    const withEmptyLabel = editCms(vector(VECTOR_3), (root) =>
      childrenAt(root, OAEP_PARAMS).push(
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 2 }, value: [algorithm('1.2.840.113549.1.1.9', octets(0)())] }),
      ),
    );
    const absentHashParams = editCms(vector(VECTOR_3), (root) => {
      childrenAt(root, [...OAEP_PARAMS, 0, 0]).pop();
      childrenAt(root, [...OAEP_PARAMS, 1, 0, 1]).pop();
    });
    const formB = replaceAt(vector(VECTOR_3), [...ECI, 2], (old) =>
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: (nodeAt(old, [0]) as asn1js.OctetString).valueBlock.valueHexView }),
    );
    for (const cms of [withEmptyLabel, absentHashParams, formB]) {
      expect(Buffer.from(openCiphertextForRecipient(cms, vector3Key())).toString()).toBe('Hello, World');
    }
  });
});

describe('openCiphertextForRecipient: secret-dependent failures → one ERR_DECRYPT_FAILED', () => {
  const other = rsaKeys(2048);

  function decryptFailure(run: () => unknown): DecryptionFailedError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(DecryptionFailedError);
      expect((error as DecryptionFailedError).message).toBe(DecryptionFailedError.MESSAGE);
      expect((error as DecryptionFailedError).cause).toBeDefined(); // the reason, for local logs only
      return error as DecryptionFailedError;
    }
    throw new Error('opened');
  }

  it('wrong private key (caught by the rid)', () => {
    decryptFailure(() => openCiphertextForRecipient(vector(VECTOR_3), other.privateKey));
    decryptFailure(() => openCiphertextForRecipient(buildCiphertextForRecipient(new Uint8Array(32), vector3Spki()), other.privateKey));
  });

  it('wrong private key behind a forged rid (caught by RSA-OAEP): same error, same message', () => {
    const forgedRid = createHash('sha256').update(other.spki).digest();
    const cms = replaceAt(vector(VECTOR_3), [...KTRI, 1], () => new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: forgedRid }));
    const byOaep = decryptFailure(() => openCiphertextForRecipient(cms, other.privateKey));
    const byRid = decryptFailure(() => openCiphertextForRecipient(vector(VECTOR_3), other.privateKey));
    expect(byOaep.code).toBe(byRid.code);
    expect(byOaep.message).toBe(byRid.message);
  });

  const rid = createHash('sha256').update(vector3Spki()).digest();
  const publicKey = createPublicKey({ key: Buffer.from(vector3Spki()), format: 'der', type: 'spki' });
  const oaep = (data: Uint8Array) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, data);

  it('a CEK that is not 32 bytes', () => {
    const cek = randomBytes(16);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', cek, iv);
    const ciphertext = Buffer.concat([cipher.update('sixteen byte key'), cipher.final()]);
    decryptFailure(() => openCiphertextForRecipient(encodeEnvelopedData({ rid, encryptedKey: oaep(cek), iv, ciphertext }), vector3Key()));
  });

  it('bad PKCS#7 padding under the right key', () => {
    const cek = randomBytes(32);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', cek, iv).setAutoPadding(false);
    const ciphertext = Buffer.concat([cipher.update(new Uint8Array(32)), cipher.final()]); // last byte 0x00: never valid padding
    decryptFailure(() => openCiphertextForRecipient(encodeEnvelopedData({ rid, encryptedKey: oaep(cek), iv, ciphertext }), vector3Key()));
    // Control: the same parts with valid padding open.
    const good = createCipheriv('aes-256-cbc', cek, iv);
    const goodCiphertext = Buffer.concat([good.update(new Uint8Array(32)), good.final()]);
    expect(hex(openCiphertextForRecipient(encodeEnvelopedData({ rid, encryptedKey: oaep(cek), iv, ciphertext: goodCiphertext }), vector3Key()))).toBe('00'.repeat(32));
  });

  it('an encryptedKey of the wrong length or with a flipped bit', () => {
    const parsed = parseCiphertextForRecipient(vector(VECTOR_3));
    const short = replaceAt(vector(VECTOR_3), [...KTRI, 3], () => new asn1js.OctetString({ valueHex: parsed.encryptedKey.subarray(1) }));
    decryptFailure(() => openCiphertextForRecipient(short, vector3Key()));
    const flipped = parsed.encryptedKey.slice();
    flipped[100]! ^= 0x01;
    const corrupt = replaceAt(vector(VECTOR_3), [...KTRI, 3], () => new asn1js.OctetString({ valueHex: flipped }));
    decryptFailure(() => openCiphertextForRecipient(corrupt, vector3Key()));
  });

  it('a non-RSA or public key object is a TypeError (our own bug, not input)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => openCiphertextForRecipient(vector(VECTOR_3), ec.privateKey)).toThrow(TypeError);
    expect(() => openCiphertextForRecipient(vector(VECTOR_3), createPublicKey(vector3Key()))).toThrow(TypeError);
  });
});
