/**
 * Key material and the cryptography of asymmetric and HMAC keys, with Node's OpenSSL: RSA key pairs
 * (RSAES-OAEP, RSASSA-PSS and RSASSA-PKCS1-v1_5, RFC 8017), ECDSA on the NIST curves and secp256k1
 * (DER signatures, as KMS returns them), HMAC (RFC 2104). Pure apart from the random source.
 *
 * Material as stored: private keys as PKCS #8 DER, HMAC keys as raw bytes, symmetric keys as 32 raw
 * bytes. KMS's algorithm choices ("Signing algorithms" in the KMS key spec reference): PSS uses MGF1
 * with the message digest and a salt as long as the digest; OAEP uses MGF1 with the same digest as
 * the label hash.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { KEY_SPECS, signingDigest, type KeySpec } from './key-specs.js';

/** New key material for a key spec (see the module comment for the stored form). */
export function generateMaterial(spec: KeySpec): Buffer {
  const info = KEY_SPECS[spec];
  if (info.family === 'symmetric') return randomBytes(32);
  if (info.family === 'hmac') return randomBytes(info.hmacKeyBytes!);
  const pair = info.family === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: info.modulusBits!, publicExponent: 65537 })
    : generateKeyPairSync('ec', { namedCurve: info.curve! });
  return pair.privateKey.export({ type: 'pkcs8', format: 'der' });
}

/** Does stored material have the shape its spec needs (state-file check)? */
export function materialFits(spec: KeySpec, material: Buffer): boolean {
  const info = KEY_SPECS[spec];
  if (info.family === 'symmetric') return material.length === 32;
  if (info.family === 'hmac') return material.length === info.hmacKeyBytes;
  try {
    const key = privateKeyOf(material);
    return info.family === 'rsa'
      ? key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === info.modulusBits
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === info.curve;
  } catch {
    return false;
  }
}

function privateKeyOf(material: Buffer): KeyObject {
  return createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
}

/** The SubjectPublicKeyInfo (DER) of an asymmetric key, as GetPublicKey returns it. */
export function publicKeyDer(material: Buffer): Buffer {
  return createPublicKey(privateKeyOf(material)).export({ type: 'spki', format: 'der' });
}

function oaepHash(algorithm: string): 'sha1' | 'sha256' {
  return algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256';
}

export function rsaEncrypt(material: Buffer, algorithm: string, plaintext: Uint8Array): Buffer {
  return publicEncrypt({ key: createPublicKey(privateKeyOf(material)), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, plaintext);
}

/** null when the ciphertext does not open (every cause alike). */
export function rsaDecrypt(material: Buffer, algorithm: string, ciphertext: Uint8Array): Buffer | null {
  try {
    return privateDecrypt({ key: privateKeyOf(material), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) }, ciphertext);
  } catch {
    return null;
  }
}

/** DigestInfo prefixes of RFC 8017 §9.2 note 1, for signing a digest the caller computed. */
const DIGEST_INFO: Readonly<Record<string, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

function rsaOptions(key: KeyObject, algorithm: string): { key: KeyObject; padding: number; saltLength?: number } {
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: signingDigest(algorithm).bytes };
  }
  return { key, padding: constants.RSA_PKCS1_PADDING };
}

/**
 * Signs `message` (RAW: the message; DIGEST: its digest, already computed). DIGEST is supported for
 * RSASSA_PKCS1_V1_5 only: Node's OpenSSL binding signs a precomputed digest only through the raw
 * RSA primitive (see sim/kms/README.md).
 */
export function signMessage(material: Buffer, algorithm: string, message: Uint8Array, digest: boolean): Buffer {
  const key = privateKeyOf(material);
  const { hash } = signingDigest(algorithm);
  if (digest) {
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([Buffer.from(DIGEST_INFO[hash]!, 'hex'), message]));
  }
  return algorithm.startsWith('ECDSA_') ? sign(hash, message, key) : sign(hash, message, rsaOptions(key, algorithm));
}

export function verifySignature(material: Buffer, algorithm: string, message: Uint8Array, digest: boolean, signature: Uint8Array): boolean {
  const key = createPublicKey(privateKeyOf(material));
  const { hash } = signingDigest(algorithm);
  try {
    if (digest) {
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      const expected = Buffer.concat([Buffer.from(DIGEST_INFO[hash]!, 'hex'), message]);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
    return algorithm.startsWith('ECDSA_') ? verify(hash, message, key, signature) : verify(hash, message, rsaOptions(key, algorithm), signature);
  } catch {
    return false;
  }
}

function hmacHash(algorithm: string): string {
  return `sha${algorithm.slice('HMAC_SHA_'.length)}`;
}

export function computeMac(material: Buffer, algorithm: string, message: Uint8Array): Buffer {
  return createHmac(hmacHash(algorithm), material).update(message).digest();
}

export function macMatches(material: Buffer, algorithm: string, message: Uint8Array, mac: Uint8Array): boolean {
  const expected = computeMac(material, algorithm, message);
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}
