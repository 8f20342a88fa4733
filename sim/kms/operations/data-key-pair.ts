/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext (KMS API reference): a fresh key pair
 * whose private key (PKCS #8 DER) comes back encrypted under a symmetric KMS key, in the clear (or,
 * for a Recipient, as CiphertextForRecipient), and whose public key comes back as DER
 * SubjectPublicKeyInfo. The encrypted private key is an ordinary ciphertext blob: Decrypt opens it.
 */
import { generateMaterial, publicKeyDer } from '../asymmetric.js';
import { sealBlob } from '../ciphertext-blob.js';
import { isKeySpec, type KeySpec } from '../key-specs.js';
import { KmsFault } from '../errors.js';
import { encryptionContextConditionValues } from '../policy/index.js';
import { readRecipient, recipientPublicKey, type RecipientOutcome } from '../recipient.js';
import type { RequestShape } from '../shapes.js';
import { currentVersion, deliver, encryptionContext, grantTokens, recipientValues } from './crypto.js';
import { arnOf, authorize, b64, dryRun, keyIdMember, requireEnabled, requireUsage, resolveKey, type OpContext, type Operation } from './context.js';

const KEY_PAIR_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SM2', 'ECC_NIST_EDWARDS25519'] as const;

async function generateDataKeyPairCommon(shape: RequestShape, ctx: OpContext, withPlaintext: boolean): Promise<Record<string, unknown>> {
  const operation = withPlaintext ? 'GenerateDataKeyPair' : 'GenerateDataKeyPairWithoutPlaintext';
  const keyIdValue = keyIdMember(shape);
  const context = encryptionContext(shape);
  const pairSpec = shape.enumOf('KeyPairSpec', KEY_PAIR_SPECS);
  if (pairSpec === undefined) {
    throw new KmsFault('ValidationException', "1 validation error detected: Value null at 'keyPairSpec' failed to satisfy constraint: Member must not be null");
  }
  grantTokens(shape);
  // The model gives GenerateDataKeyPairWithoutPlaintext no Recipient member: it is ignored there.
  const outcome: RecipientOutcome = withPlaintext ? readRecipient(shape, ctx.now, ctx.recipient) : { present: false };
  const key = resolveKey(ctx, keyIdValue, { allowAlias: true });
  authorize(ctx, key, `kms:${operation}`, {
    ...encryptionContextConditionValues(context),
    ...recipientValues(outcome),
    'kms:DataKeyPairSpec': pairSpec,
  });
  requireEnabled(key);
  requireUsage(key, 'ENCRYPT_DECRYPT', ['symmetric'], operation);
  if (!isKeySpec(pairSpec)) {
    throw new KmsFault('UnsupportedOperationException', `The KMS simulator does not make ${pairSpec} key pairs.`);
  }
  const spki = outcome.present ? recipientPublicKey(outcome) : undefined;
  dryRun(shape);
  const privateKey = generateMaterial(pairSpec satisfies KeySpec);
  const { index, version } = currentVersion(key);
  const result: Record<string, unknown> = {
    PrivateKeyCiphertextBlob: b64(sealBlob(version.material, { keyId: key.keyId, keyVersion: index }, context, privateKey)),
    PublicKey: b64(publicKeyDer(privateKey)),
    KeyId: arnOf(key),
    KeyPairSpec: pairSpec,
    KeyMaterialId: version.materialId,
  };
  if (withPlaintext) {
    const delivered: Record<string, unknown> = {};
    deliver(delivered, privateKey, outcome, spki);
    if (delivered['Plaintext'] !== undefined) result['PrivateKeyPlaintext'] = delivered['Plaintext'];
    if (delivered['CiphertextForRecipient'] !== undefined) result['CiphertextForRecipient'] = delivered['CiphertextForRecipient'];
  } else {
    privateKey.fill(0);
  }
  return result;
}

export const generateDataKeyPair: Operation = (shape, ctx) => generateDataKeyPairCommon(shape, ctx, true);
export const generateDataKeyPairWithoutPlaintext: Operation = (shape, ctx) => generateDataKeyPairCommon(shape, ctx, false);
