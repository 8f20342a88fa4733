/**
 * The operations the simulator answers, by X-Amz-Target suffix (`TrentService.<Op>`), and which
 * of them draw on the shared cryptographic request quota.
 */
import type { Operation } from './context.js';
import { createAlias, deleteAlias, listAliases, updateAlias } from './aliases.js';
import { decrypt, encrypt, generateDataKey, generateDataKeyWithoutPlaintext, generateRandom, reEncrypt } from './crypto.js';
import {
  cancelKeyDeletion,
  createKey,
  describeKey,
  disableKey,
  enableKey,
  getKeyPolicy,
  listKeys,
  listKeyPolicies,
  putKeyPolicy,
  scheduleKeyDeletion,
  updateKeyDescription,
} from './keys.js';
import { createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant } from './grants.js';
import { listResourceTags, tagResource, untagResource } from './tags.js';
import { generateMac, getPublicKey, sign, verify, verifyMac } from './asymmetric.js';
import { generateDataKeyPair, generateDataKeyPairWithoutPlaintext } from './data-key-pair.js';
import { disableKeyRotation, enableKeyRotation, getKeyRotationStatus, rotateKeyOnDemand } from './rotation.js';

export interface OperationEntry {
  run: Operation;
  /** Counts against the shared per-second quota of its key type (faults.ts). */
  cryptographic: boolean;
}

const crypto = (run: Operation): OperationEntry => ({ run, cryptographic: true });
const management = (run: Operation): OperationEntry => ({ run, cryptographic: false });
/** Cryptographic, but with a per-operation quota of its own in KMS, which the simulator does not meter. */
const ownQuota = (run: Operation): OperationEntry => ({ run, cryptographic: false });

export const OPERATIONS: Readonly<Record<string, OperationEntry>> = Object.freeze({
  CreateKey: management(createKey),
  DescribeKey: management(describeKey),
  ListKeys: management(listKeys),
  EnableKey: management(enableKey),
  DisableKey: management(disableKey),
  ScheduleKeyDeletion: management(scheduleKeyDeletion),
  CancelKeyDeletion: management(cancelKeyDeletion),
  GetKeyPolicy: management(getKeyPolicy),
  ListKeyPolicies: management(listKeyPolicies),
  UpdateKeyDescription: management(updateKeyDescription),
  TagResource: management(tagResource),
  UntagResource: management(untagResource),
  ListResourceTags: management(listResourceTags),
  CreateGrant: management(createGrant),
  ListGrants: management(listGrants),
  ListRetirableGrants: management(listRetirableGrants),
  RetireGrant: management(retireGrant),
  RevokeGrant: management(revokeGrant),
  PutKeyPolicy: management(putKeyPolicy),
  CreateAlias: management(createAlias),
  UpdateAlias: management(updateAlias),
  DeleteAlias: management(deleteAlias),
  ListAliases: management(listAliases),
  EnableKeyRotation: management(enableKeyRotation),
  DisableKeyRotation: management(disableKeyRotation),
  GetKeyRotationStatus: management(getKeyRotationStatus),
  RotateKeyOnDemand: management(rotateKeyOnDemand),
  Encrypt: crypto(encrypt),
  Decrypt: crypto(decrypt),
  ReEncrypt: crypto(reEncrypt),
  GenerateDataKey: crypto(generateDataKey),
  GenerateDataKeyWithoutPlaintext: crypto(generateDataKeyWithoutPlaintext),
  GenerateRandom: crypto(generateRandom),
  GenerateDataKeyPair: ownQuota(generateDataKeyPair),
  GenerateDataKeyPairWithoutPlaintext: ownQuota(generateDataKeyPairWithoutPlaintext),
  GetPublicKey: ownQuota(getPublicKey),
  Sign: crypto(sign),
  Verify: crypto(verify),
  GenerateMac: crypto(generateMac),
  VerifyMac: crypto(verifyMac),
});

export function operationNamed(name: string): OperationEntry | undefined {
  return Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}
