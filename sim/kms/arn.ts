/**
 * KMS identifiers: key ids (UUIDs), key ARNs, alias names and alias ARNs, and the account of a
 * caller's IAM/STS ARN. Formats: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Multi-Region key ids: `mrk-` and 32 hex digits (KMS concepts, "Key ID"). The simulator makes none. */
const MRK_ID = /^mrk-[0-9a-f]{32}$/;
const KEY_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/((?:mrk-)?[0-9a-f-]{32,36})$/;
const ALIAS_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;
/** CreateAlias: "alias/" followed by letters, digits, '/', '_' and '-' (model pattern ^[a-zA-Z0-9:/_-]+$). */
export const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
const PRINCIPAL_ARN = /^arn:aws:(?:iam|sts)::(\d{12}):.+$/;

export type KeyRef =
  | { kind: 'id'; keyId: string }
  | { kind: 'key-arn'; region: string; account: string; keyId: string }
  | { kind: 'alias'; aliasName: string }
  | { kind: 'alias-arn'; region: string; account: string; aliasName: string };

/** Classifies a KeyId member. Returns null when it is none of the four forms. */
export function isKeyId(value: string): boolean {
  return UUID.test(value) || MRK_ID.test(value);
}

export function parseKeyRef(value: string): KeyRef | null {
  if (isKeyId(value)) return { kind: 'id', keyId: value };
  const keyArn = KEY_ARN.exec(value);
  if (keyArn !== null && isKeyId(keyArn[3]!)) {
    return { kind: 'key-arn', region: keyArn[1]!, account: keyArn[2]!, keyId: keyArn[3]! };
  }
  if (value.startsWith('alias/')) return { kind: 'alias', aliasName: value };
  const aliasArn = ALIAS_ARN.exec(value);
  if (aliasArn !== null) {
    return { kind: 'alias-arn', region: aliasArn[1]!, account: aliasArn[2]!, aliasName: aliasArn[3]! };
  }
  return null;
}

export function keyArn(region: string, account: string, keyId: string): string {
  return `arn:aws:kms:${region}:${account}:key/${keyId}`;
}

export function aliasArn(region: string, account: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${account}:${aliasName}`;
}

/** The 12-digit account of an `arn:aws:iam::…` or `arn:aws:sts::…` principal, or null. */
export function accountOfPrincipal(arn: string): string | null {
  return PRINCIPAL_ARN.exec(arn)?.[1] ?? null;
}

export function uuidToBytes(keyId: string): Buffer {
  return Buffer.from(keyId.replaceAll('-', ''), 'hex');
}

export function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
