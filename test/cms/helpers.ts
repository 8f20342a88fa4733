/**
 * Shared fixtures of the CMS tests: the KMS vectors (test/vectors/kms/, see its README),
 * RSA keys, an asn1js tree editor for crafting invalid CMS, and the error classifier.
 */
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import { expect } from 'vitest';
import { DecryptionFailedError, ServiceError } from '../../shared/errors.js';

const VECTORS = new URL('../vectors/kms/', import.meta.url);

export function vector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, VECTORS)));
}

export interface ExpectedVectors {
  ciphertext_out: string;
  iv_out: string;
  encrypted_key_out: string;
  ciphertext_out_w_ctx: string;
  iv_out_w_ctx: string;
  encrypted_key_out_w_ctx: string;
}

export function expectedVectors(): ExpectedVectors {
  return JSON.parse(readFileSync(new URL('kms_cms_envelopeddata_expected.json', VECTORS), 'utf8')) as ExpectedVectors;
}

export const VECTOR_1 = 'kms_cms_envelopeddata_1.ber';
export const VECTOR_2 = 'kms_cms_envelopeddata_2_implicit.ber';
export const VECTOR_3 = 'kms_cms_envelopeddata_3_enclaver.ber';

/** The private key of vector 3 (edgebitio/enclaver pkcs7.rs tests). */
export function vector3Key(): KeyObject {
  return createPrivateKey({ key: Buffer.from(vector('kms_cms_envelopeddata_3_enclaver_rsa2048_pkcs8.der')), format: 'der', type: 'pkcs8' });
}

export function vector3Spki(): Uint8Array {
  return vector('kms_cms_envelopeddata_3_enclaver_pubkey_spki.der');
}

export interface RsaKeys {
  privateKey: KeyObject;
  spki: Uint8Array;
}

export function rsaKeys(modulusLength = 2048): RsaKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { privateKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export { OPENSSL_AVAILABLE };
if (!OPENSSL_AVAILABLE) console.warn('openssl CLI not found: OpenSSL interop tests are skipped');

/**
 * Child `path` of an asn1js tree (indices into constructed values). Paths in a KMS CMS:
 * [1,0] EnvelopedData; [1,0,0] its version; [1,0,1] RecipientInfos; [1,0,1,0] the KTRI
 * (0 version, 1 rid, 2 keyEncryptionAlgorithm, 3 encryptedKey); [1,0,2] EncryptedContentInfo
 * (0 contentType, 1 contentEncryptionAlgorithm, 2 encryptedContent).
 */
export function nodeAt(root: asn1js.AsnType, path: readonly number[]): asn1js.AsnType {
  let node = root;
  for (const index of path) {
    const children = (node as asn1js.Constructed).valueBlock.value;
    const child = children[index];
    if (child === undefined) throw new Error(`no child ${index} on path ${path.join('/')}`);
    node = child;
  }
  return node;
}

export function childrenAt(root: asn1js.AsnType, path: readonly number[]): asn1js.AsnType[] {
  return (nodeAt(root, path) as asn1js.Constructed).valueBlock.value;
}

/**
 * Parses `cms`, lets `edit` change the tree, re-encodes. asn1js re-encodes an unedited tree byte
 * for byte. Definite lengths are re-chosen minimally (asn1js would otherwise keep the long form of
 * a parent that shrank below 128 bytes, a second, unintended defect).
 */
export function editCms(cms: Uint8Array, edit: (root: asn1js.AsnType) => void): Uint8Array {
  const decoded = asn1js.fromBER(cms, { parseEmbedded: false });
  if (decoded.offset === -1) throw new Error('fixture is not BER');
  edit(decoded.result);
  const minimalLengths = (node: asn1js.AsnType): void => {
    node.lenBlock.longFormUsed = false;
    if (node instanceof asn1js.Constructed) node.valueBlock.value.forEach(minimalLengths);
  };
  minimalLengths(decoded.result);
  return new Uint8Array(decoded.result.toBER());
}

/** Replaces the node at `path` (the last index is the position in its parent). */
export function replaceAt(cms: Uint8Array, path: readonly number[], make: (old: asn1js.AsnType) => asn1js.AsnType): Uint8Array {
  return editCms(cms, (root) => {
    const parent = childrenAt(root, path.slice(0, -1));
    const index = path[path.length - 1]!;
    parent[index] = make(parent[index]!);
  });
}

export const oidNode = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });

/** What a call threw, classified: only these two outcomes are allowed for bad CMS. */
export function failureOf(run: () => unknown): 'ERR_CMS_MALFORMED' | 'ERR_DECRYPT_FAILED' | 'none' {
  try {
    run();
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'ERR_CMS_MALFORMED') return 'ERR_CMS_MALFORMED';
    if (error instanceof DecryptionFailedError) {
      expect(error.message).toBe(DecryptionFailedError.MESSAGE);
      return 'ERR_DECRYPT_FAILED';
    }
    throw error; // any other exception fails the test
  }
  return 'none';
}
