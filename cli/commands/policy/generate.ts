/**
 * `enclavekit policy generate`: reads the measurements nitro-cli printed, adds --pcr values, and
 * writes the key policy from shared/policy/generate.ts (which holds every safety rule).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { pcrOfString } from '../../../shared/pcr.js';
import { generateKeyPolicy, type AttestationBinding } from '../../../shared/policy/generate.js';
import { parsePcrsJson, parsePcrValue } from '../../../shared/policy/pcrs.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';

const USAGE = `usage: enclavekit policy generate --pcrs FILE [--pcr N=VALUE]... --account ID
         --enclave-role ARN --admin ARN [--admin ARN]... [--key card|internal|rsa]
         [--producer ARN]... [--wrapped-key-generator ARN]... [--secret-writer ARN]...
         [--encryption-context KEY=VALUE]...
         [--image-sha384-only | --with-image-sha384] [--immutable-policy] [--out FILE]

Writes a KMS key policy (JSON) to FILE or stdout. Run it once per key:
  --key card (default)   the key producers seal data under: the producers may Encrypt and
                         GenerateDataKey only with the given purposes, which are required with
                         --producer (--encryption-context purpose=card purpose=pii-text
                         purpose=pii-value, or your own handlers' purposes; never *-key);
  --key internal         the key wrapping the enclave's own keys (tokenization, blind index): no
                         producers at all; the wrapped-key generators may GenerateDataKeyWithoutPlaintext
                         only (ciphertext, never a plaintext key), with purpose tokenization-key or
                         blind-index-key unless --encryption-context says otherwise; the secret
                         writers may Encrypt only with purpose=secret (enclavekit secrets put:
                         they seal secrets for the enclave and cannot read them back);
  --key rsa              the RSA key (ENCRYPT_DECRYPT) offline producers seal to: the producers
                         may only GetPublicKey (they encrypt offline, never call KMS again); no
                         encryption context; the enclave role gets no GetPublicKey.
On all three, the admins may manage the key but not use it (no Decrypt, Encrypt, GenerateDataKey*,
ReEncrypt or CreateGrant), and the enclave role may Decrypt only with an attestation document whose
PCRs equal the measurements (kms:RecipientAttestation:PCRn, StringEqualsIgnoreCase). Account-level
actions (kms:ListAliases, kms:GenerateRandom) are not key actions: see deploy/iam.
  --pcrs FILE            nitro-cli build-enclave output ({"Measurements": {...}}) or {"PCR0": ...}
  --pcr N=VALUE          add or override PCR N: 96 hex digits; for N=3 an IAM role ARN and for N=4 an
                         instance id are hashed as the NSM does (SHA384(zeros(48) || text))
  --image-sha384-only    bind kms:RecipientAttestation:ImageSha384 (= PCR0) instead of PCRn keys
  --with-image-sha384    bind ImageSha384 as well as the PCRn keys
  --immutable-policy     leave kms:PutKeyPolicy out (nobody can change the policy afterwards)
Refuses all-zero (debug-mode) PCRs; admins, producers or generators that would include the
enclave role; producers without purposes or on the internal key; generators or secret writers
on the card or RSA key; secret writers that would include the enclave role.
`;

const PCR_ARG = /^(\d{1,2})=(.+)$/;

function pcrArgument(arg: string): [number, string] {
  const m = PCR_ARG.exec(arg);
  if (m === null) throw new UsageError(`--pcr ${arg}: expected N=VALUE`);
  const index = Number(m[1]);
  const value = m[2]!;
  if (index === 3 && value.startsWith('arn:')) return [index, pcrOfString(value)];
  if (index === 4 && value.startsWith('i-')) return [index, pcrOfString(value)];
  return [index, parsePcrValue(index, value, `--pcr ${index}`)];
}

function contextArgument(arg: string, into: Record<string, string[]>): void {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`--encryption-context ${arg}: expected KEY=VALUE`);
  (into[arg.slice(0, eq)] ??= []).push(arg.slice(eq + 1));
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit policy generate', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      pcrs: { type: 'string' },
      pcr: { type: 'string', multiple: true },
      account: { type: 'string' },
      'enclave-role': { type: 'string' },
      admin: { type: 'string', multiple: true },
      key: { type: 'string' },
      producer: { type: 'string', multiple: true },
      'wrapped-key-generator': { type: 'string', multiple: true },
      'secret-writer': { type: 'string', multiple: true },
      'encryption-context': { type: 'string', multiple: true },
      'image-sha384-only': { type: 'boolean' },
      'with-image-sha384': { type: 'boolean' },
      'immutable-policy': { type: 'boolean' },
      out: { type: 'string' },
    });
    if (values.pcrs === undefined && (values.pcr ?? []).length === 0) throw new UsageError('--pcrs FILE (or at least one --pcr) is required');
    if (values['image-sha384-only'] === true && values['with-image-sha384'] === true) {
      throw new UsageError('--image-sha384-only and --with-image-sha384 exclude each other');
    }
    const account = required(values.account, 'account');
    const enclaveRoleArn = required(values['enclave-role'], 'enclave-role');
    const adminArns = values.admin ?? [];
    if (adminArns.length === 0) throw new UsageError('--admin is required');

    const pcrs: Record<number, string> = values.pcrs === undefined ? {} : parsePcrsJson(await readFile(values.pcrs, 'utf8'));
    for (const arg of values.pcr ?? []) {
      const [index, hex] = pcrArgument(arg);
      pcrs[index] = hex;
    }
    const encryptionContext: Record<string, string[]> = {};
    for (const arg of values['encryption-context'] ?? []) contextArgument(arg, encryptionContext);
    const binding: AttestationBinding =
      values['image-sha384-only'] === true ? 'image-sha384-only' : values['with-image-sha384'] === true ? 'pcrs-and-image-sha384' : 'pcrs';

    const kind = values.key ?? 'card';
    if (kind !== 'card' && kind !== 'internal' && kind !== 'rsa') throw new UsageError('--key must be card, internal or rsa');

    const { policy, warnings } = generateKeyPolicy({
      kind,
      account,
      enclaveRoleArn,
      adminArns,
      producerArns: values.producer ?? [],
      wrappedKeyGeneratorArns: values['wrapped-key-generator'] ?? [],
      secretWriterArns: values['secret-writer'] ?? [],
      pcrs,
      binding,
      encryptionContext,
      immutablePolicy: values['immutable-policy'] === true,
    });
    for (const warning of warnings) process.stderr.write(`enclavekit policy generate: warning: ${warning}\n`);
    const text = `${JSON.stringify(policy, null, 2)}\n`;
    if (values.out === undefined) {
      process.stdout.write(text);
    } else {
      await writeFile(values.out, text);
      process.stderr.write(`enclavekit policy generate: wrote ${values.out}\n`);
    }
    return 0;
  });
}
