/**
 * Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
 * GenerateDataKeyWithoutPlaintext, GenerateRandom. Each is authorised through the key policy with
 * the request's condition values (encryption context, caller, and for a Recipient the verified
 * attestation), then checks the key state, then does the work. Plaintext buffers are zeroed once
 * encoded into the response (the base64 string itself cannot be wiped: a JavaScript limit).
 */
import { randomBytes } from 'node:crypto';
import { KmsFault } from '../errors.js';
import { openBlob, readBlobHeader, sealBlob } from '../ciphertext-blob.js';
import type { KeyRecord } from '../key-store.js';
import { encryptionContextConditionValues, type ConditionValue } from '../policy/index.js';
import { readRecipient, recipientPublicKey, sealForRecipient, type RecipientOutcome } from '../recipient.js';
import type { RequestShape } from '../shapes.js';
import { rsaDecrypt, rsaEncrypt } from '../asymmetric.js';
import { isGrantToken } from '../grants.js';
import { algorithmsOf, KEY_SPECS, oaepMaxPlaintext } from '../key-specs.js';
import {
  arnOf,
  authorize,
  authorizeWithoutKey,
  b64,
  dryRun,
  keyIdMember,
  requireEnabled,
  requireUsage,
  resolveKey,
  specOf,
  usageOf,
  type OpContext,
  type Operation,
} from './context.js';

/** KMS model limits (docs/formats.md 5.5). */
const PLAINTEXT_MAX = 4096;
const CIPHERTEXT_MAX = 6144;
const RANDOM_MAX = 1024;
const GRANT_TOKENS_MAX = 10;
/**
 * A simulator bound on the encoded encryption context (sum of UTF-8 key and value lengths), so the
 * blob AAD stays small; KMS publishes no single number for it.
 */
const CONTEXT_MAX_BYTES = 8192;
const ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;

export function encryptionContext(shape: RequestShape, member = 'EncryptionContext'): Record<string, string> {
  const context = shape.stringMap(member);
  let bytes = 0;
  for (const [k, v] of Object.entries(context)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (bytes > CONTEXT_MAX_BYTES) throw new KmsFault('ValidationException', `The encryption context exceeds ${CONTEXT_MAX_BYTES} bytes.`);
  return context;
}

type EncryptionAlgorithm = (typeof ALGORITHMS)[number];

function readAlgorithm(shape: RequestShape, member: string): EncryptionAlgorithm | undefined {
  return shape.enumOf(member, ALGORITHMS);
}

/**
 * The encryption algorithm a key takes: SYMMETRIC_DEFAULT (the default) for symmetric keys,
 * RSAES_OAEP_SHA_1/256 for RSA ENCRYPT_DECRYPT keys; anything else, or a key of another usage, is a
 * key-usage error in KMS.
 */
function checkAlgorithm(key: KeyRecord, algorithm: EncryptionAlgorithm | undefined): EncryptionAlgorithm {
  const chosen = algorithm ?? 'SYMMETRIC_DEFAULT';
  const allowed = usageOf(key) === 'ENCRYPT_DECRYPT' ? algorithmsOf(specOf(key), 'ENCRYPT_DECRYPT').EncryptionAlgorithms ?? [] : [];
  if (!allowed.includes(chosen)) {
    throw new KmsFault('InvalidKeyUsageException', `${arnOf(key)} does not support the ${chosen} encryption algorithm.`);
  }
  return chosen;
}

function isRsa(key: KeyRecord): boolean {
  return KEY_SPECS[specOf(key)].family === 'rsa';
}

/** GrantTokens: at most 10, each a token the simulator could have issued (InvalidGrantTokenException). */
export function grantTokens(shape: RequestShape): void {
  for (const token of shape.stringList('GrantTokens', { maxItems: GRANT_TOKENS_MAX })) {
    if (!isGrantToken(token)) throw new KmsFault('InvalidGrantTokenException', 'The grant token is not valid.');
  }
}

export function recipientValues(outcome: RecipientOutcome): Record<string, ConditionValue> {
  return outcome.present && outcome.valid ? outcome.conditions : {};
}

export function currentVersion(key: KeyRecord): { index: number; version: KeyRecord['versions'][number] } {
  const index = key.versions.length - 1;
  return { index, version: key.versions[index]! };
}

function invalidCiphertext(): KmsFault {
  // KMS sends this error without a message.
  return new KmsFault('InvalidCiphertextException', '');
}

/** Asymmetric encryption keys take no encryption context (KMS "Asymmetric keys" guide). */
function refuseContext(context: Record<string, string>, key: KeyRecord): void {
  if (Object.keys(context).length > 0) {
    throw new KmsFault('InvalidKeyUsageException', `${arnOf(key)} is an asymmetric key, which does not support an encryption context.`);
  }
}

/** RSAES-OAEP under the key's public key; the plaintext limit depends on modulus and hash. */
function rsaEncryptFor(key: KeyRecord, algorithm: EncryptionAlgorithm, plaintext: Buffer): Record<string, unknown> {
  const max = oaepMaxPlaintext(KEY_SPECS[specOf(key)].modulusBits!, algorithm as 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256');
  if (plaintext.length > max) {
    plaintext.fill(0);
    throw new KmsFault('ValidationException', `Plaintext of ${specOf(key)} key with ${algorithm} must be at most ${max} bytes.`);
  }
  const ciphertext = rsaEncrypt(currentVersion(key).version.material, algorithm, plaintext);
  plaintext.fill(0);
  return { CiphertextBlob: b64(ciphertext), KeyId: arnOf(key), EncryptionAlgorithm: algorithm };
}

/** Opens a blob after authorisation; every failure is the same InvalidCiphertextException. */
function openWith(key: KeyRecord, versionIndex: number, blob: Uint8Array, context: Record<string, string>): { plaintext: Buffer; materialId: string } {
  const version = key.versions[versionIndex];
  if (version === undefined) throw invalidCiphertext();
  const plaintext = openBlob(version.material, blob, context);
  if (plaintext === null) throw invalidCiphertext();
  return { plaintext, materialId: version.materialId };
}

/** The key a blob names, checked against an optional KeyId member (IncorrectKeyException). */
function keyOfBlob(ctx: OpContext, blob: Uint8Array, keyIdValue: string | undefined): { key: KeyRecord; versionIndex: number } {
  const header = readBlobHeader(blob);
  if (header === null) throw invalidCiphertext();
  const key = ctx.store.getKey(header.keyId);
  if (keyIdValue !== undefined) {
    const named = resolveKey(ctx, keyIdValue, { allowAlias: true });
    if (key === undefined || named.keyId !== key.keyId) {
      throw new KmsFault('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
  }
  if (key === undefined) throw invalidCiphertext();
  return { key, versionIndex: header.keyVersion };
}

/** Puts `plaintext` into the response as Plaintext, or as CiphertextForRecipient for a Recipient. */
export function deliver(result: Record<string, unknown>, plaintext: Buffer, outcome: RecipientOutcome, spki: Uint8Array | undefined): void {
  try {
    if (outcome.present) result['CiphertextForRecipient'] = b64(sealForRecipient(plaintext, spki!));
    else result['Plaintext'] = b64(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

export const encrypt: Operation = async (shape, ctx) => {
  const keyIdValue = keyIdMember(shape);
  const plaintext = shape.blob('Plaintext', { required: true, min: 1, max: PLAINTEXT_MAX });
  const context = encryptionContext(shape);
  grantTokens(shape);
  const requested = readAlgorithm(shape, 'EncryptionAlgorithm');
  const key = resolveKey(ctx, keyIdValue, { allowAlias: true });
  authorize(ctx, key, 'kms:Encrypt', encryptionContextConditionValues(context));
  requireEnabled(key);
  const algorithm = checkAlgorithm(key, requested);
  if (isRsa(key)) refuseContext(context, key);
  dryRun(shape);
  if (isRsa(key)) return rsaEncryptFor(key, algorithm, plaintext);
  const { index, version } = currentVersion(key);
  const blob = sealBlob(version.material, { keyId: key.keyId, keyVersion: index }, context, plaintext);
  plaintext.fill(0);
  return { CiphertextBlob: b64(blob), KeyId: arnOf(key), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
};

export const decrypt: Operation = async (shape, ctx) => {
  const blob = shape.blob('CiphertextBlob', { required: true, min: 1, max: CIPHERTEXT_MAX });
  const context = encryptionContext(shape);
  grantTokens(shape);
  const requested = readAlgorithm(shape, 'EncryptionAlgorithm');
  const keyIdValue = shape.string('KeyId', { min: 1, max: 2048 });
  const outcome = readRecipient(shape, ctx.now, ctx.recipient);
  // Asymmetric ciphertexts carry no key id: KMS needs the KeyId member to decrypt them.
  const named = keyIdValue === undefined ? undefined : resolveKey(ctx, keyIdValue, { allowAlias: true });
  if (named !== undefined && isRsa(named)) return rsaDecryptFor(ctx, shape, named, requested, blob, context, outcome);
  const { key, versionIndex } = keyOfBlob(ctx, blob, keyIdValue);
  checkAlgorithm(key, requested);
  authorize(ctx, key, 'kms:Decrypt', { ...encryptionContextConditionValues(context), ...recipientValues(outcome) });
  requireEnabled(key);
  const spki = outcome.present ? recipientPublicKey(outcome) : undefined;
  dryRun(shape);
  const { plaintext, materialId } = openWith(key, versionIndex, blob, context);
  const result: Record<string, unknown> = { KeyId: arnOf(key), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: materialId };
  deliver(result, plaintext, outcome, spki);
  return result;
};

/** Decrypt with an RSA key: RSAES-OAEP, Plaintext or (for a Recipient) CiphertextForRecipient. */
function rsaDecryptFor(
  ctx: OpContext,
  shape: RequestShape,
  key: KeyRecord,
  requested: EncryptionAlgorithm | undefined,
  blob: Buffer,
  context: Record<string, string>,
  outcome: RecipientOutcome,
): Record<string, unknown> {
  authorize(ctx, key, 'kms:Decrypt', { ...encryptionContextConditionValues(context), ...recipientValues(outcome) });
  requireEnabled(key);
  const algorithm = checkAlgorithm(key, requested);
  refuseContext(context, key);
  const spki = outcome.present ? recipientPublicKey(outcome) : undefined;
  dryRun(shape);
  const plaintext = rsaDecrypt(currentVersion(key).version.material, algorithm, blob);
  if (plaintext === null) throw invalidCiphertext();
  const result: Record<string, unknown> = { KeyId: arnOf(key), EncryptionAlgorithm: algorithm };
  deliver(result, plaintext, outcome, spki);
  return result;
}

export const reEncrypt: Operation = async (shape, ctx) => {
  const blob = shape.blob('CiphertextBlob', { required: true, min: 1, max: CIPHERTEXT_MAX });
  const sourceContext = encryptionContext(shape, 'SourceEncryptionContext');
  const sourceKeyIdValue = shape.string('SourceKeyId', { min: 1, max: 2048 });
  const destinationKeyIdValue = keyIdMember(shape, 'DestinationKeyId');
  const destinationContext = encryptionContext(shape, 'DestinationEncryptionContext');
  const sourceAlgorithm = readAlgorithm(shape, 'SourceEncryptionAlgorithm');
  const destinationAlgorithm = readAlgorithm(shape, 'DestinationEncryptionAlgorithm');
  grantTokens(shape);
  const { key: source, versionIndex } = keyOfBlob(ctx, blob, sourceKeyIdValue);
  const destination = resolveKey(ctx, destinationKeyIdValue, { allowAlias: true });
  // The simulator re-encrypts between symmetric keys only (see sim/kms/README.md).
  checkAlgorithm(source, sourceAlgorithm);
  checkAlgorithm(destination, destinationAlgorithm);
  if (isRsa(destination)) throw new KmsFault('UnsupportedOperationException', 'The KMS simulator re-encrypts under symmetric keys only.');
  const sameKey = source.keyId === destination.keyId;
  authorize(ctx, source, 'kms:ReEncryptFrom', { ...encryptionContextConditionValues(sourceContext), 'kms:ReEncryptOnSameKey': sameKey });
  authorize(ctx, destination, 'kms:ReEncryptTo', { ...encryptionContextConditionValues(destinationContext), 'kms:ReEncryptOnSameKey': sameKey });
  requireEnabled(source);
  requireEnabled(destination);
  dryRun(shape);
  const { plaintext, materialId } = openWith(source, versionIndex, blob, sourceContext);
  const { index, version } = currentVersion(destination);
  try {
    const sealed = sealBlob(version.material, { keyId: destination.keyId, keyVersion: index }, destinationContext, plaintext);
    return {
      CiphertextBlob: b64(sealed),
      SourceKeyId: arnOf(source),
      KeyId: arnOf(destination),
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: materialId,
      DestinationKeyMaterialId: version.materialId,
    };
  } finally {
    plaintext.fill(0);
  }
};

/** NumberOfBytes or KeySpec, exactly one (GenerateDataKey API reference). */
function dataKeyLength(shape: RequestShape): number {
  const bytes = shape.integer('NumberOfBytes', { min: 1, max: RANDOM_MAX });
  const spec = shape.enumOf('KeySpec', ['AES_256', 'AES_128']);
  if (bytes === undefined && spec === undefined) {
    throw new KmsFault('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (bytes !== undefined && spec !== undefined) {
    throw new KmsFault('ValidationException', 'Please specify either number of bytes or key spec, not both.');
  }
  return bytes ?? (spec === 'AES_128' ? 16 : 32);
}

async function generateDataKeyCommon(shape: RequestShape, ctx: OpContext, withPlaintext: boolean): Promise<Record<string, unknown>> {
  const keyIdValue = keyIdMember(shape);
  const context = encryptionContext(shape);
  const length = dataKeyLength(shape);
  grantTokens(shape);
  const outcome: RecipientOutcome = withPlaintext ? readRecipient(shape, ctx.now, ctx.recipient) : { present: false };
  const key = resolveKey(ctx, keyIdValue, { allowAlias: true });
  const action = withPlaintext ? 'kms:GenerateDataKey' : 'kms:GenerateDataKeyWithoutPlaintext';
  authorize(ctx, key, action, { ...encryptionContextConditionValues(context), ...recipientValues(outcome) });
  requireEnabled(key);
  requireUsage(key, 'ENCRYPT_DECRYPT', ['symmetric'], withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext');
  const spki = outcome.present ? recipientPublicKey(outcome) : undefined;
  dryRun(shape);
  const dataKey = randomBytes(length);
  const { index, version } = currentVersion(key);
  const result: Record<string, unknown> = {
    CiphertextBlob: b64(sealBlob(version.material, { keyId: key.keyId, keyVersion: index }, context, dataKey)),
    KeyId: arnOf(key),
    KeyMaterialId: version.materialId,
  };
  if (withPlaintext) deliver(result, dataKey, outcome, spki);
  else dataKey.fill(0);
  return result;
}

export const generateDataKey: Operation = (shape, ctx) => generateDataKeyCommon(shape, ctx, true);
export const generateDataKeyWithoutPlaintext: Operation = (shape, ctx) => generateDataKeyCommon(shape, ctx, false);

/**
 * GenerateRandom has no key, hence no key policy: identity policies alone authorise it, with the
 * attestation condition values of a verified Recipient (so an IAM Deny conditioned on
 * kms:RecipientAttestation:* applies). A Recipient gets CiphertextForRecipient only for a document
 * that verifies.
 */
export const generateRandom: Operation = async (shape, ctx) => {
  const length = shape.integer('NumberOfBytes', { min: 1, max: RANDOM_MAX });
  if (length === undefined) {
    // The model leaves NumberOfBytes optional; the service itself answers this text.
    throw new KmsFault('ValidationException', 'NumberOfBytes is required.');
  }
  if (shape.has('CustomKeyStoreId')) {
    throw new KmsFault('UnsupportedOperationException', 'The KMS simulator has no custom key stores.');
  }
  const outcome = readRecipient(shape, ctx.now, ctx.recipient);
  authorizeWithoutKey(ctx, 'kms:GenerateRandom', recipientValues(outcome));
  const spki = outcome.present ? recipientPublicKey(outcome) : undefined;
  const result: Record<string, unknown> = {};
  deliver(result, randomBytes(length), outcome, spki);
  return result;
};
