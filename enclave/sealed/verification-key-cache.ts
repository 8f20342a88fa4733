/**
 * The ESDK's default materials manager, keeping the signature verification keys it decodes.
 *
 * For the signed suites the signer's public key travels in the encryption context as a compressed
 * P-384 point (`aws-crypto-public-key`, AWS Encryption SDK message format, "Encryption Context").
 * NodeDefaultCryptographicMaterialsManager decodes it for every message with bn.js big-number
 * arithmetic (@aws-crypto/material-management ecc_decode.js): about 3.5 ms of CPU, most of the cost
 * of opening a signed record (bench: `npm run bench -- esdk`, profiled in process). A producer with
 * a caching CMM signs many records with one key, so the decoded key is kept per (suite, point) and
 * handed to later materials. The signature itself is still verified for every message by the ESDK;
 * only the decoding of a public value is shared. Public keys only, so the cache is process-wide.
 */
import { NodeDecryptionMaterial, NodeDefaultCryptographicMaterialsManager } from '@aws-crypto/material-management-node';

/** The encryption-context key of the signer's public key (@aws-crypto/serialize ENCODED_SIGNER_KEY). */
const ENCODED_SIGNER_KEY = 'aws-crypto-public-key';
/** Distinct signer keys kept; the least recently used goes first. */
export const VERIFICATION_KEYS_KEPT = 256;

type Suite = Parameters<NodeDefaultCryptographicMaterialsManager['_initializeDecryptionMaterial']>[0];
type Context = Parameters<NodeDefaultCryptographicMaterialsManager['_initializeDecryptionMaterial']>[1];
type VerificationKey = NonNullable<NodeDecryptionMaterial['verificationKey']>;

const decoded = new Map<string, VerificationKey>();

export class VerificationKeyCachingCmm extends NodeDefaultCryptographicMaterialsManager {
  override _initializeDecryptionMaterial(suite: Suite, encryptionContext: Context): NodeDecryptionMaterial {
    const point = suite.signatureCurve === undefined ? undefined : encryptionContext[ENCODED_SIGNER_KEY];
    if (typeof point !== 'string') return super._initializeDecryptionMaterial(suite, encryptionContext);
    const cacheKey = `${suite.id}:${point}`;
    const known = decoded.get(cacheKey);
    if (known !== undefined) {
      decoded.delete(cacheKey);
      decoded.set(cacheKey, known);
      return new NodeDecryptionMaterial(suite, encryptionContext).setVerificationKey(known);
    }
    // The ESDK's own checks and decoding, the first time this key is seen.
    const material = super._initializeDecryptionMaterial(suite, encryptionContext);
    if (material.verificationKey !== undefined) {
      decoded.set(cacheKey, material.verificationKey);
      if (decoded.size > VERIFICATION_KEYS_KEPT) decoded.delete(decoded.keys().next().value as string);
    }
    return material;
  }
}
