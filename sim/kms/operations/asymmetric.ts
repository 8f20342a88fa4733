/**
 * Operations of asymmetric and HMAC keys: GetPublicKey, Sign, Verify, GenerateMac, VerifyMac.
 * Shapes: botocore kms/2014-11-01/service-2.json; behaviour: the KMS API reference of each
 * operation (a wrong key usage or algorithm is InvalidKeyUsageException, a signature or MAC that
 * does not verify is KMSInvalidSignatureException / KMSInvalidMacException).
 */
import { computeMac, macMatches, publicKeyDer, signMessage, verifySignature } from '../asymmetric.js';
import { KmsFault } from '../errors.js';
import { algorithmsOf, KEY_SPECS, signingDigest } from '../key-specs.js';
import type { KeyRecord } from '../key-store.js';
import type { RequestShape } from '../shapes.js';
import { grantTokens, currentVersion } from './crypto.js';
import {
  arnOf,
  authorize,
  b64,
  dryRun,
  keyIdMember,
  requireEnabled,
  requireUsage,
  resolveKey,
  specOf,
  usageOf,
  type Operation,
} from './context.js';

const MESSAGE_MAX = 4096;
const SIGNATURE_MAX = 6144;
const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512',
  'SM2DSA', 'ML_DSA_SHAKE_256',
] as const;
const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;

export const getPublicKey: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  grantTokens(shape);
  authorize(ctx, key, 'kms:GetPublicKey');
  requireEnabled(key);
  const spec = specOf(key);
  const family = KEY_SPECS[spec].family;
  if (family !== 'rsa' && family !== 'ecc') {
    throw new KmsFault('UnsupportedOperationException', `${arnOf(key)} key type is not supported for this operation: GetPublicKey takes an asymmetric key.`);
  }
  return {
    KeyId: arnOf(key),
    PublicKey: b64(publicKeyDer(currentVersion(key).version.material)),
    CustomerMasterKeySpec: spec,
    KeySpec: spec,
    KeyUsage: usageOf(key),
    ...algorithmsOf(spec, usageOf(key)),
  };
};

/** Message, MessageType and SigningAlgorithm of Sign/Verify, checked against the key. */
function signingInput(shape: RequestShape, key: KeyRecord, operation: string): { message: Buffer; digest: boolean; algorithm: string } {
  requireUsage(key, 'SIGN_VERIFY', ['rsa', 'ecc'], operation);
  const message = shape.blob('Message', { required: true, min: 1, max: MESSAGE_MAX });
  const type = shape.enumOf('MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU']) ?? 'RAW';
  const algorithm = shape.enumOf('SigningAlgorithm', SIGNING_ALGORITHMS);
  if (algorithm === undefined) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
  }
  if (!(algorithmsOf(specOf(key), 'SIGN_VERIFY').SigningAlgorithms ?? []).includes(algorithm)) {
    throw new KmsFault('InvalidKeyUsageException', `${arnOf(key)} does not support the ${algorithm} signing algorithm.`);
  }
  if (type === 'EXTERNAL_MU') throw new KmsFault('ValidationException', 'MessageType EXTERNAL_MU is only valid with ML_DSA keys.');
  if (type === 'DIGEST') {
    if (message.length !== signingDigest(algorithm).bytes) {
      throw new KmsFault('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
    }
    if (!algorithm.startsWith('RSASSA_PKCS1_V1_5_')) {
      throw new KmsFault('UnsupportedOperationException', `The KMS simulator signs precomputed digests with RSASSA_PKCS1_V1_5 algorithms only, not ${algorithm}.`);
    }
  }
  return { message, digest: type === 'DIGEST', algorithm };
}

export const sign: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  grantTokens(shape);
  authorize(ctx, key, 'kms:Sign');
  requireEnabled(key);
  const { message, digest, algorithm } = signingInput(shape, key, 'Sign');
  dryRun(shape);
  const signature = signMessage(currentVersion(key).version.material, algorithm, message, digest);
  return { KeyId: arnOf(key), Signature: b64(signature), SigningAlgorithm: algorithm };
};

export const verify: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  grantTokens(shape);
  authorize(ctx, key, 'kms:Verify');
  requireEnabled(key);
  const { message, digest, algorithm } = signingInput(shape, key, 'Verify');
  const signature = shape.blob('Signature', { required: true, min: 1, max: SIGNATURE_MAX });
  dryRun(shape);
  if (!verifySignature(currentVersion(key).version.material, algorithm, message, digest, signature)) {
    throw new KmsFault('KMSInvalidSignatureException', 'The signature verification failed.');
  }
  return { KeyId: arnOf(key), SignatureValid: true, SigningAlgorithm: algorithm };
};

function macInput(shape: RequestShape, key: KeyRecord, operation: string): { message: Buffer; algorithm: string } {
  requireUsage(key, 'GENERATE_VERIFY_MAC', ['hmac'], operation);
  const message = shape.blob('Message', { required: true, min: 1, max: MESSAGE_MAX });
  const algorithm = shape.enumOf('MacAlgorithm', MAC_ALGORITHMS);
  if (algorithm === undefined) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'macAlgorithm' failed to satisfy constraint: Member must not be null");
  }
  if (KEY_SPECS[specOf(key)].algorithm !== algorithm) {
    throw new KmsFault('InvalidKeyUsageException', `${arnOf(key)} does not support the ${algorithm} MAC algorithm.`);
  }
  return { message, algorithm };
}

export const generateMac: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  grantTokens(shape);
  authorize(ctx, key, 'kms:GenerateMac');
  requireEnabled(key);
  const { message, algorithm } = macInput(shape, key, 'GenerateMac');
  dryRun(shape);
  return { Mac: b64(computeMac(currentVersion(key).version.material, algorithm, message)), MacAlgorithm: algorithm, KeyId: arnOf(key) };
};

export const verifyMac: Operation = async (shape, ctx) => {
  const key = resolveKey(ctx, keyIdMember(shape), { allowAlias: true });
  grantTokens(shape);
  authorize(ctx, key, 'kms:VerifyMac');
  requireEnabled(key);
  const { message, algorithm } = macInput(shape, key, 'VerifyMac');
  const mac = shape.blob('Mac', { required: true, min: 1, max: SIGNATURE_MAX });
  dryRun(shape);
  if (!macMatches(currentVersion(key).version.material, algorithm, message, mac)) {
    throw new KmsFault('KMSInvalidMacException', 'The MAC verification failed.');
  }
  return { KeyId: arnOf(key), MacValid: true, MacAlgorithm: algorithm };
};
