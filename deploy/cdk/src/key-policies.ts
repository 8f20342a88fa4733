/**
 * The key policies of the fleet's KMS keys, all from the generator `enclavekit policy generate`
 * uses (shared/policy/generate.ts), so a CDK deployment and a hand-built host bind keys the same way.
 *
 * Rolling update: while hosts run two images, the policy holds two attested-enclave statements, one
 * per PCR set. Never one statement with lists of values: KMS checks each condition key on its own,
 * so lists would also admit an old PCR0 with a new PCR2 (docs/deploy.md, key policy step).
 */
import { generateKeyPolicy, SID_ENCLAVE, type KeyPolicyDocument, type PolicyStatementDocument } from '../../../shared/policy/generate.js';
import { fail } from './settings.js';

export const SID_ENCLAVE_PREVIOUS = `${SID_ENCLAVE}Previous`;

export interface KeyPolicyInputs {
  account: string;
  enclaveRoleArn: string;
  adminArns: string[];
  producerArns: string[];
  producerPurposes: string[];
  keygenArns: string[];
  /** The image being rolled out (or the only one); undefined before the first image is built. */
  pcrs: Record<number, string> | undefined;
  /** The image still running on some hosts during a rollout; omit once every host runs `pcrs`. */
  previousPcrs?: Record<number, string>;
}

/** The enclave statement for `previous`, renamed, appended to `policy`. */
function withPrevious(policy: KeyPolicyDocument, previous: KeyPolicyDocument | undefined): KeyPolicyDocument {
  if (previous === undefined) return policy;
  const old = previous.Statement.find((s) => s.Sid === SID_ENCLAVE);
  if (old === undefined) throw new Error('the generator produced no attested-enclave statement');
  const renamed: PolicyStatementDocument = { ...old, Sid: SID_ENCLAVE_PREVIOUS };
  return { ...policy, Statement: [...policy.Statement, renamed] };
}

/**
 * Before the first image exists (its enclave.json names the keys, so the keys come first) the
 * generator gets no PCRs and writes no enclave statement: a key is administered and, for the internal
 * key, wrapped keys can be generated; nobody can decrypt.
 */
function build(inputs: KeyPolicyInputs, generate: (pcrs: Record<number, string> | undefined) => KeyPolicyDocument): KeyPolicyDocument {
  if (inputs.pcrs === undefined && inputs.previousPcrs !== undefined) fail('previousPcrs', 'needs pcrs (the image being rolled out)');
  const current = generate(inputs.pcrs);
  return withPrevious(current, inputs.previousPcrs === undefined ? undefined : generate(inputs.previousPcrs));
}

/**
 * The card key: producers seal cards and PII under it with the purposes the API defines, once an
 * image can open what they seal (before that, nothing sealed could be read back).
 */
export function cardKeyPolicy(inputs: KeyPolicyInputs): KeyPolicyDocument {
  return build(inputs, (pcrs) => {
    const producerArns = pcrs === undefined ? [] : inputs.producerArns;
    return generateKeyPolicy({
      kind: 'card',
      account: inputs.account,
      enclaveRoleArn: inputs.enclaveRoleArn,
      adminArns: inputs.adminArns,
      producerArns,
      pcrs,
      ...(producerArns.length > 0 ? { encryptionContext: { purpose: inputs.producerPurposes } } : {}),
    }).policy;
  });
}

/**
 * The internal key: it wraps the keys the enclave keeps for itself (tokenization, blind index), so
 * no producer may use it; the keygen role may only create wrapped keys. This is the one place that
 * chooses the generator mode for it.
 */
export function internalKeyPolicy(inputs: KeyPolicyInputs): KeyPolicyDocument {
  return build(inputs, (pcrs) =>
    generateKeyPolicy({
      kind: 'internal',
      account: inputs.account,
      enclaveRoleArn: inputs.enclaveRoleArn,
      adminArns: inputs.adminArns,
      wrappedKeyGeneratorArns: inputs.keygenArns,
      pcrs,
    }).policy,
  );
}
