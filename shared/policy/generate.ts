/**
 * Generates the KMS key policies that bind keys to an enclave measurement (docs/security.md "Two
 * kinds of KMS key"). Pure: used by `enclavekit policy generate` and by the dev stack.
 *
 * Two kinds of key (`kind`):
 * - `card`: producers seal data for the enclave under it (ESDK). They may Encrypt /
 *   GenerateDataKey only with `kms:EncryptionContext:purpose` among the purposes they are given,
 *   which must be named and may not be an internal key's purpose (`*-key`): otherwise a producer
 *   calls GenerateDataKey(purpose=tokenization-key), keeps the plaintext, and a rogue parent hands
 *   the enclave that blob as its tokenization key, so every token becomes reversible offline.
 * - `internal`: wraps the keys the enclave keeps for itself (tokenization, blind index). Nobody but
 *   the attested enclave may Decrypt; wrapped-key generators may only
 *   GenerateDataKeyWithoutPlaintext (ciphertext, never a plaintext key) with an internal purpose;
 *   producers get nothing at all.
 * - `rsa`: an asymmetric RSA ENCRYPT_DECRYPT key for offline producers (docs/api.md "Inputs sealed
 *   to a KMS RSA public key"). Producers may only GetPublicKey: they encrypt offline with it and
 *   never call KMS again. The enclave role gets no GetPublicKey: whoever holds the public key can
 *   seal inputs, and the parent holds that role's credentials. Asymmetric keys take no encryption
 *   context (the operation is bound inside the sealed input), so none may be given.
 *
 * Statements:
 * 1. Key administration for the admin principals: management actions on the key only. No Decrypt,
 *    Encrypt, GenerateDataKey*, ReEncrypt* and no CreateGrant (a grant could hand any of those to
 *    anyone), so an administrator cannot read data through this policy. PutKeyPolicy is included
 *    unless `immutablePolicy`: whoever may rewrite the policy may grant themselves anything later
 *    (every rewrite is a CloudTrail event); with `immutablePolicy` nobody can change it, which KMS
 *    accepts only with BypassPolicyLockoutSafetyCheck. Account-level actions (kms:ListAliases,
 *    kms:GenerateRandom, kms:CreateKey) have no key resource, so a key policy cannot grant them:
 *    they belong in IAM policies (deploy/iam).
 * 2. (card) Encrypt / GenerateDataKey for producer principals, restricted to the purposes.
 *    (rsa) GetPublicKey for producer principals.
 *    (internal) GenerateDataKeyWithoutPlaintext for wrapped-key generators, restricted likewise;
 *    Encrypt for secret writers, only with `kms:EncryptionContext:purpose` = `secret` (sealed
 *    secrets, docs/secrets.md): they can seal a secret for the enclave but never read one back.
 * 3. Decrypt for the enclave role, only with an attestation condition (left out when no PCRs are
 *    given: a key created before its image exists can be administered, but nobody can decrypt):
 *    `kms:RecipientAttestation:PCRn` and/or `ImageSha384`, lower-case hex under
 *    StringEqualsIgnoreCase (docs/formats.md 5.4), plus kms:CallerAccount. The enclave role is also
 *    the parent instance's role, and the parent holds its credentials: the role gets nothing
 *    without an attestation document that only the measured enclave can obtain.
 *
 * Refused (InputError ERR_BAD_REQUEST): all-zero PCRs (debug mode, docs/formats.md section 6: "PCR0/1/2 are
 * all zeros"; or an unused register), a policy that binds no measurement of the enclave's code
 * (PCR0, PCR2 or ImageSha384), admin, producer or generator principals that would include the
 * enclave role (an account root does, in KMS via IAM policies and in the simulator directly),
 * producers without purposes or with an internal purpose, producers on an internal key, and
 * wrapped-key generators or secret writers on a card or RSA key (secret writers likewise may not
 * include the enclave role).
 * Warned: PCR4 (the parent's instance id: the key then works on one instance only).
 */
import { InputError } from '../errors.js';

export type AttestationBinding = 'pcrs' | 'image-sha384-only' | 'pcrs-and-image-sha384';
export type KeyKind = 'card' | 'internal' | 'rsa';

/** The `purpose` values of the API's sealed inputs (docs/api.md): what producers may use by default. */
export const PRODUCER_PURPOSES = Object.freeze(['card', 'pii-text', 'pii-value']);
/** The `purpose` of each wrapped enclave key under the internal key (`<name>-key`). */
export const INTERNAL_PURPOSES = Object.freeze(['tokenization-key', 'blind-index-key']);

export interface GenerateKeyPolicyOptions {
  /** Which key this policy is for (see the header). Default 'card'. */
  kind?: KeyKind;
  /** The 12-digit account of the enclave role; becomes a kms:CallerAccount condition. */
  account: string;
  /** The enclave's (= the parent instance's) IAM role ARN. */
  enclaveRoleArn: string;
  /** Key administrators (at least one). */
  adminArns: readonly string[];
  /** Principals that may Encrypt / GenerateDataKey (card key only; `encryptionContext.purpose` required). */
  producerArns?: readonly string[];
  /**
   * PCR index → 96 hex digits, every one of which the enclave statement requires. `undefined`
   * (before the first image is built, when only the keys exist) leaves the enclave statement out:
   * nobody may Decrypt until a later policy binds an image. Never defaulted: the caller says so.
   */
  pcrs: Readonly<Record<number, string>> | undefined;
  /** Which condition keys carry the measurements. Default 'pcrs'. */
  binding?: AttestationBinding;
  /**
   * Encryption-context key → allowed values (OR), required of producers (card key) or of
   * wrapped-key generators (internal key, default `purpose` = INTERNAL_PURPOSES).
   */
  encryptionContext?: Readonly<Record<string, readonly string[]>>;
  /** Leave kms:PutKeyPolicy out of the admin statement. Default false. */
  immutablePolicy?: boolean;
  /**
   * Principals that may create wrapped data keys for the enclave (the tokenization and blind-index
   * keys) with GenerateDataKeyWithoutPlaintext: they get ciphertext only, never a plaintext key.
   * Internal key only.
   */
  wrappedKeyGeneratorArns?: readonly string[];
  /**
   * Principals that may seal secrets for the enclave (`enclavekit secrets put`): kms:Encrypt with
   * purpose=secret only. Internal key only.
   */
  secretWriterArns?: readonly string[];
}

export interface PolicyStatementDocument {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string | string[] };
  Action: string[];
  Resource: '*';
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface KeyPolicyDocument {
  Version: '2012-10-17';
  Id: string;
  Statement: PolicyStatementDocument[];
}

export interface GeneratedKeyPolicy {
  policy: KeyPolicyDocument;
  /** Things an operator should read (PCR4); never secrets. */
  warnings: string[];
}

export const SID_ADMIN = 'EnclaveKitKeyAdministration';
export const SID_PRODUCERS = 'EnclaveKitProducersEncrypt';
export const SID_ENCLAVE = 'EnclaveKitAttestedEnclave';
export const SID_WRAPPED_KEY_GENERATORS = 'EnclaveKitWrappedKeyGeneration';
export const SID_SECRET_WRITERS = 'EnclaveKitSecretWriters';
/** Secret writers encrypt a value once; they never decrypt or make data keys. */
export const SECRET_WRITER_ACTIONS = Object.freeze(['kms:Encrypt']);
/** The encryption-context purpose of every sealed secret (shared/secrets/sealed-secret.ts). */
export const SECRET_PURPOSE = 'secret';

/**
 * Management actions on the key resource only ("AWS KMS permissions reference", Resources column
 * "KMS key"); see the header for what is left out. CreateAlias, DeleteAlias and UpdateAlias act on
 * the key as well as on the alias, so they stay.
 */
export const ADMIN_ACTIONS = Object.freeze([
  'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:DeleteAlias', 'kms:DescribeKey', 'kms:DisableKey',
  'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:EnableKeyRotation', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus',
  'kms:ListGrants', 'kms:ListKeyPolicies', 'kms:ListKeyRotations', 'kms:ListResourceTags',
  'kms:PutKeyPolicy', 'kms:RevokeGrant', 'kms:RotateKeyOnDemand', 'kms:ScheduleKeyDeletion', 'kms:TagResource',
  'kms:UntagResource', 'kms:UpdateAlias', 'kms:UpdateKeyDescription',
]);
export const PRODUCER_ACTIONS = Object.freeze(['kms:Encrypt', 'kms:GenerateDataKey']);
/** The enclave only ever decrypts (ESDK data keys, wrapped keys) with its attestation document. */
export const ENCLAVE_ACTIONS = Object.freeze(['kms:Decrypt']);
export const GENERATOR_ACTIONS = Object.freeze(['kms:GenerateDataKeyWithoutPlaintext']);
/** Offline producers of an RSA key: the public key, nothing that uses the private key. */
export const PUBLIC_KEY_READER_ACTIONS = Object.freeze(['kms:GetPublicKey']);
export const SID_PUBLIC_KEY_READERS = 'EnclaveKitProducersGetPublicKey';

const ACCOUNT_RE = /^\d{12}$/;
const PRINCIPAL_ARN_RE = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):([^\s*?]+)$/;
const PCR_HEX_RE = /^[0-9a-f]{96}$/;

function bad(message: string): InputError {
  return new InputError('ERR_BAD_REQUEST', message);
}

interface Principal { partition: string; account: string; resource: string; arn: string }

function principal(arn: string, what: string): Principal {
  const m = PRINCIPAL_ARN_RE.exec(arn);
  if (m === null) throw bad(`${what} must be an IAM principal ARN (arn:aws:iam::ACCOUNT:role/NAME), got ${JSON.stringify(arn.slice(0, 80))}`);
  return { partition: m[1]!, account: m[3]!, resource: m[4]!, arn };
}

/** Would this principal, in a key policy, also admit the enclave role or its sessions? */
function coversRole(p: Principal, role: Principal): boolean {
  if (p.account !== role.account || p.partition !== role.partition) return false;
  if (p.resource === 'root') return true;
  const roleName = role.resource.split('/').pop();
  if (p.resource === role.resource) return true;
  if (p.resource.startsWith('role/')) return p.resource.split('/').pop() === roleName;
  // A session of the role (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) is the role.
  return p.resource.startsWith('assumed-role/') && p.resource.split('/')[1] === roleName;
}

export function generateKeyPolicy(options: GenerateKeyPolicyOptions): GeneratedKeyPolicy {
  const warnings: string[] = [];
  if (!ACCOUNT_RE.test(options.account)) throw bad('the account must be a 12-digit AWS account id');
  const role = principal(options.enclaveRoleArn, 'the enclave role');
  if (!role.resource.startsWith('role/')) throw bad('the enclave role must be an IAM role ARN (…:role/NAME)');
  if (role.account !== options.account) throw bad(`the enclave role is not in account ${options.account}`);

  if (options.adminArns.length === 0) throw bad('at least one key administrator is required');
  for (const [what, arns] of [
    ['administrator', options.adminArns],
    ['producer', options.producerArns ?? []],
    ['wrapped-key generator', options.wrappedKeyGeneratorArns ?? []],
    ['secret writer', options.secretWriterArns ?? []],
  ] as const) {
    for (const arn of arns) {
      const p = principal(arn, `a ${what}`);
      if (coversRole(p, role)) {
        throw bad(
          `the ${what} ${arn} would include the enclave role ${options.enclaveRoleArn}` +
            (p.resource === 'root' ? ' (an account root stands for every principal of the account)' : '') +
            ': the parent instance holds that role and must get nothing without attestation',
        );
      }
    }
  }

  const binding = options.binding ?? 'pcrs';
  const attestation = options.pcrs === undefined ? undefined : attestationCondition(options.pcrs, binding, warnings);

  const statements: PolicyStatementDocument[] = [
    {
      Sid: SID_ADMIN,
      Effect: 'Allow',
      Principal: { AWS: one(dedupe(options.adminArns)) },
      Action: ADMIN_ACTIONS.filter((a) => !(options.immutablePolicy === true && a === 'kms:PutKeyPolicy')),
      Resource: '*',
    },
  ];

  const kind = options.kind ?? 'card';
  const producers = dedupe(options.producerArns ?? []);
  const generators = dedupe(options.wrappedKeyGeneratorArns ?? []);
  const secretWriters = dedupe(options.secretWriterArns ?? []);
  if (kind !== 'internal' && secretWriters.length > 0) {
    throw bad(`secret writers belong on the internal key (kind internal), not on the ${kind === 'rsa' ? 'RSA' : 'card'} key`);
  }
  const context = options.encryptionContext ?? {};
  if (kind === 'rsa') {
    if (generators.length > 0) throw bad('wrapped-key generators belong on the internal key (kind internal), not on the RSA key');
    if (Object.keys(context).length > 0) throw bad('an RSA key takes no encryption context: the operation is bound inside each sealed input');
    if (producers.length > 0) {
      statements.push({ Sid: SID_PUBLIC_KEY_READERS, Effect: 'Allow', Principal: { AWS: one(producers) }, Action: [...PUBLIC_KEY_READER_ACTIONS], Resource: '*' });
    }
  } else if (kind === 'card') {
    if (generators.length > 0) throw bad('wrapped-key generators belong on the internal key (kind internal), not on the card key');
    if (producers.length > 0) {
      const purposes = context['purpose'] ?? [];
      if (purposes.length === 0) {
        throw bad(`producers need the purposes they may use (encryption context purpose=${PRODUCER_PURPOSES.join('|')}): without them a producer can mint any key under the card key`);
      }
      const internal = purposes.find((v) => v.endsWith('-key'));
      if (internal !== undefined) throw bad(`producer purpose ${JSON.stringify(internal)} names an enclave-internal key (*-key): those live under the internal key`);
      statements.push({ Sid: SID_PRODUCERS, Effect: 'Allow', Principal: { AWS: one(producers) }, Action: [...PRODUCER_ACTIONS], Resource: '*', Condition: { StringEquals: encryptionContextCondition(context)! } });
    } else if (Object.keys(context).length > 0) {
      throw bad('an encryption context was given but no producer: it restricts only the producer statement');
    }
  } else {
    if (producers.length > 0) throw bad('the internal key admits no producers: nobody outside the enclave may hold a key made under it');
    if (generators.length > 0) {
      const generatorContext = Object.keys(context).length > 0 ? context : { purpose: INTERNAL_PURPOSES };
      statements.push({
        Sid: SID_WRAPPED_KEY_GENERATORS,
        Effect: 'Allow',
        Principal: { AWS: one(generators) },
        Action: [...GENERATOR_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: encryptionContextCondition(generatorContext)! },
      });
    } else if (Object.keys(context).length > 0) {
      throw bad('an encryption context was given but no wrapped-key generator: it restricts only the generator statement');
    }
    if (secretWriters.length > 0) {
      statements.push({
        Sid: SID_SECRET_WRITERS,
        Effect: 'Allow',
        Principal: { AWS: one(secretWriters) },
        Action: [...SECRET_WRITER_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:purpose': SECRET_PURPOSE } },
      });
    }
  }

  if (attestation !== undefined) {
    statements.push({
      Sid: SID_ENCLAVE,
      Effect: 'Allow',
      Principal: { AWS: options.enclaveRoleArn },
      Action: [...ENCLAVE_ACTIONS],
      Resource: '*',
      Condition: {
        StringEqualsIgnoreCase: attestation,
        StringEquals: { 'kms:CallerAccount': options.account },
      },
    });
  }

  return { policy: { Version: '2012-10-17', Id: POLICY_IDS[kind], Statement: statements }, warnings };
}

const POLICY_IDS: Record<KeyKind, string> = { card: 'enclavekit-attested-key-policy', internal: 'enclavekit-internal-key-policy', rsa: 'enclavekit-rsa-key-policy' };

function attestationCondition(pcrs: Readonly<Record<number, string>>, binding: AttestationBinding, warnings: string[]): Record<string, string> {
  const entries = Object.entries(pcrs).map(([k, v]) => [Number(k), v.toLowerCase()] as const).sort((a, b) => a[0] - b[0]);
  for (const [index, hex] of entries) {
    if (!Number.isInteger(index) || index < 0 || index > 31) throw bad(`PCR${index}: the NSM has PCR0..PCR31`);
    if (!PCR_HEX_RE.test(hex)) throw bad(`PCR${index} must be 96 hex digits (SHA-384)`);
    if (/^0+$/.test(hex)) {
      throw bad(
        index <= 2
          ? `PCR${index} is all zeros: these are debug-mode measurements (nitro-cli --debug-mode). A policy bound to them admits any debug enclave, whose memory the parent can read; rebuild without debug mode`
          : `PCR${index} is all zeros (an unused register): binding it proves nothing`,
      );
    }
  }
  const byIndex = new Map(entries);
  const condition: Record<string, string> = {};
  if (binding === 'image-sha384-only' || binding === 'pcrs-and-image-sha384') {
    const pcr0 = byIndex.get(0);
    if (pcr0 === undefined) throw bad('ImageSha384 needs PCR0 (the image measurement)');
    condition['kms:RecipientAttestation:ImageSha384'] = pcr0;
  }
  if (binding !== 'image-sha384-only') {
    for (const [index, hex] of entries) condition[`kms:RecipientAttestation:PCR${index}`] = hex;
  }
  // PCR1 (kernel and boot ramfs) is the same for every enclave built with the same nitro-cli; PCR3
  // and PCR4 name the parent; PCR8 the signer. Only PCR0 or PCR2 measure this application.
  if (condition['kms:RecipientAttestation:PCR0'] === undefined && condition['kms:RecipientAttestation:PCR2'] === undefined && condition['kms:RecipientAttestation:ImageSha384'] === undefined) {
    throw bad('the policy must bind a measurement of the enclave application: PCR0 (image), PCR2 (application) or ImageSha384');
  }
  if (byIndex.has(4) && binding !== 'image-sha384-only') {
    warnings.push('PCR4 is the parent instance id: the key will only work for an enclave on that one instance (not after a replacement or in an Auto Scaling group)');
  }
  return condition;
}

function encryptionContextCondition(context: Readonly<Record<string, readonly string[]>>): Record<string, string | string[]> | undefined {
  const entries = Object.entries(context);
  if (entries.length === 0) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of entries) {
    if (key === '' || /\s/.test(key)) throw bad('encryption-context keys must be non-empty and contain no whitespace');
    const distinct = dedupe(values);
    if (distinct.length === 0 || distinct.some((v) => v === '')) throw bad(`encryption-context key ${JSON.stringify(key)} needs a non-empty value`);
    out[`kms:EncryptionContext:${key}`] = one(distinct);
  }
  return out;
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** A single principal or value as a string, several as a list (how AWS prints policies). */
function one(values: string[]): string | string[] {
  return values.length === 1 ? values[0]! : values;
}
