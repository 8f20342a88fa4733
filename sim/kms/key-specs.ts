/**
 * The key specs the simulator makes, with what KMS allows each to do ("Key spec reference", AWS KMS
 * Developer Guide: RSA key specs, elliptic curve key specs, HMAC key specs).
 *
 * - SYMMETRIC_DEFAULT: AES-256-GCM, ENCRYPT_DECRYPT.
 * - RSA_2048/3072/4096: ENCRYPT_DECRYPT (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256) or SIGN_VERIFY
 *   (RSASSA_PSS_SHA_256/384/512, RSASSA_PKCS1_V1_5_SHA_256/384/512).
 * - ECC_NIST_P256/P384/P521, ECC_SECG_P256K1: SIGN_VERIFY with ECDSA_SHA_256/384/512/256.
 * - HMAC_224/256/384/512: GENERATE_VERIFY_MAC with HMAC_SHA_224/256/384/512; the key is as long as
 *   the digest.
 * SM2 (China Regions only), ML-DSA, Ed25519 and KEY_AGREEMENT are not made by the simulator.
 */

export type KeySpec =
  | 'SYMMETRIC_DEFAULT'
  | 'RSA_2048' | 'RSA_3072' | 'RSA_4096'
  | 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'ECC_NIST_P521' | 'ECC_SECG_P256K1'
  | 'HMAC_224' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512';

export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';

export type KeyFamily = 'symmetric' | 'rsa' | 'ecc' | 'hmac';

/** Every KeySpec value the KMS model knows (CreateKey validates against this set). */
export const MODEL_KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
  'ECC_NIST_EDWARDS25519',
] as const;

export const MODEL_KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;

export interface KeySpecInfo {
  family: KeyFamily;
  usages: readonly KeyUsage[];
  /** RSA modulus bits. */
  modulusBits?: number;
  /** Node/OpenSSL curve name. */
  curve?: string;
  /** ECDSA: the one signing algorithm of the curve. HMAC: the MAC algorithm. */
  algorithm?: string;
  /** HMAC key length in bytes. */
  hmacKeyBytes?: number;
}

export const KEY_SPECS: Readonly<Record<KeySpec, KeySpecInfo>> = Object.freeze({
  SYMMETRIC_DEFAULT: { family: 'symmetric', usages: ['ENCRYPT_DECRYPT'] },
  RSA_2048: { family: 'rsa', usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], modulusBits: 2048 },
  RSA_3072: { family: 'rsa', usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], modulusBits: 3072 },
  RSA_4096: { family: 'rsa', usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], modulusBits: 4096 },
  ECC_NIST_P256: { family: 'ecc', usages: ['SIGN_VERIFY'], curve: 'prime256v1', algorithm: 'ECDSA_SHA_256' },
  ECC_NIST_P384: { family: 'ecc', usages: ['SIGN_VERIFY'], curve: 'secp384r1', algorithm: 'ECDSA_SHA_384' },
  ECC_NIST_P521: { family: 'ecc', usages: ['SIGN_VERIFY'], curve: 'secp521r1', algorithm: 'ECDSA_SHA_512' },
  ECC_SECG_P256K1: { family: 'ecc', usages: ['SIGN_VERIFY'], curve: 'secp256k1', algorithm: 'ECDSA_SHA_256' },
  HMAC_224: { family: 'hmac', usages: ['GENERATE_VERIFY_MAC'], algorithm: 'HMAC_SHA_224', hmacKeyBytes: 28 },
  HMAC_256: { family: 'hmac', usages: ['GENERATE_VERIFY_MAC'], algorithm: 'HMAC_SHA_256', hmacKeyBytes: 32 },
  HMAC_384: { family: 'hmac', usages: ['GENERATE_VERIFY_MAC'], algorithm: 'HMAC_SHA_384', hmacKeyBytes: 48 },
  HMAC_512: { family: 'hmac', usages: ['GENERATE_VERIFY_MAC'], algorithm: 'HMAC_SHA_512', hmacKeyBytes: 64 },
});

export function isKeySpec(value: string): value is KeySpec {
  return Object.hasOwn(KEY_SPECS, value);
}

export const RSA_ENCRYPTION_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
export const RSA_SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
] as const;

/** The algorithm lists DescribeKey and GetPublicKey report for a key. */
export function algorithmsOf(spec: KeySpec, usage: KeyUsage): { EncryptionAlgorithms?: string[]; SigningAlgorithms?: string[]; MacAlgorithms?: string[] } {
  const info = KEY_SPECS[spec];
  if (info.family === 'symmetric') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
  if (info.family === 'hmac') return { MacAlgorithms: [info.algorithm!] };
  if (info.family === 'ecc') return { SigningAlgorithms: [info.algorithm!] };
  return usage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: [...RSA_ENCRYPTION_ALGORITHMS] } : { SigningAlgorithms: [...RSA_SIGNING_ALGORITHMS] };
}

/**
 * Largest plaintext RSAES-OAEP takes: k - 2·hLen - 2 bytes (RFC 8017 §7.1.1), which gives KMS's
 * published limits (RSA_2048: 214 bytes with SHA-1, 190 with SHA-256).
 */
export function oaepMaxPlaintext(modulusBits: number, algorithm: (typeof RSA_ENCRYPTION_ALGORITHMS)[number]): number {
  const hLen = algorithm === 'RSAES_OAEP_SHA_1' ? 20 : 32;
  return modulusBits / 8 - 2 * hLen - 2;
}

/** Digest (Node name) and length of a signing algorithm. */
export function signingDigest(algorithm: string): { hash: 'sha256' | 'sha384' | 'sha512'; bytes: number } {
  if (algorithm.endsWith('_384')) return { hash: 'sha384', bytes: 48 };
  if (algorithm.endsWith('_512')) return { hash: 'sha512', bytes: 64 };
  return { hash: 'sha256', bytes: 32 };
}
