/**
 * `enclavekit policy explain`: verifies an attestation document (signature, chain to the given or
 * the AWS root, freshness) and evaluates a key policy for it with the simulator's evaluator, as KMS
 * would. Prints each statement, each failed condition with the policy's and the document's values,
 * and the verdict: allow → exit 0, deny → exit 1. A document that does not verify is always a deny.
 */
import { readFile } from 'node:fs/promises';
import { AttestationError } from '../../../shared/errors.js';
import { parseAttestation, verifyAttestation, type VerifyOptions } from '../../../shared/attestation/index.js';
import { accountOfArn, attestedPrincipals, explainKeyPolicy, parseIdentityPolicy, parseKeyPolicy, type ExplainDocument } from '../../../sim/kms/policy/index.js';
import { UsageError, parseOptions, required, runCli } from '../sim/cli-util.js';

const USAGE = `usage: enclavekit policy explain --policy FILE --document ATTESTATION_FILE [--principal ARN]
         [--action kms:Decrypt] [--key ARN] [--at now|document|MS|ISO-8601] [--max-age-ms MS]
         [--root PEM_FILE]... [--encryption-context KEY=VALUE]... [--via-service NAME]
         [--identity-policy FILE]...

Evaluates the key policy for a KMS request that carries the attestation document as Recipient,
as KMS would: the document must verify (COSE signature, certificate chain to --root, default the
AWS Nitro Enclaves root; freshness) or KMS sets no kms:RecipientAttestation:* value and the verdict
is deny. Prints allow (exit 0) or deny (exit 1) and every failed condition with the policy's value
next to the document's.
  --document FILE      the COSE_Sign1 document: binary, base64 or hex
  --principal ARN      the caller; default: the principal of the policy's attested statement
  --action ACTION      default kms:Decrypt
  --key ARN            the key ARN (default: a placeholder key in the principal's account)
  --at WHEN            verification time: now (default), document (its own timestamp), ms or ISO date
  --max-age-ms MS      freshness window when --at is not 'document' (default 300000, as the KMS simulator)
  --root PEM_FILE      trust anchor (repeatable), e.g. the simulator's: enclavekit sim root --state DIR
  --identity-policy F  an IAM identity policy of the caller (repeatable); given, the verdict combines
                       them with the key policy as KMS does (account-root statements delegate to them)
`;

const DEFAULT_MAX_AGE_MS = 5 * 60_000;

/** Binary COSE_Sign1 (0x84 untagged, 0xd2 tag 18: docs/formats.md section 0 item 2), or base64 / hex text. */
export function decodeDocumentFile(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return bytes;
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text.replace(/\s+/g, ''))) {
    const decoded = new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
    if (decoded[0] === 0x84 || decoded[0] === 0xd2) return decoded;
  }
  // Hand the bytes to the parser, which names what is wrong with them.
  return bytes;
}

function parseAt(value: string | undefined, now: number): number | 'document' {
  if (value === undefined || value === 'now') return now;
  if (value === 'document') return 'document';
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new UsageError(`--at ${value}: expected now, document, ms since the epoch or an ISO-8601 date`);
  return parsed;
}

function parseContext(args: readonly string[]): Record<string, string> | undefined {
  if (args.length === 0) return undefined;
  const context: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`--encryption-context ${arg}: expected KEY=VALUE`);
    context[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return context;
}

function hexPcrs(pcrs: ReadonlyMap<number, Uint8Array>): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [index, value] of pcrs) out[index] = Buffer.from(value).toString('hex');
  return out;
}

/** Verifies as KMS does before it sets the attestation condition keys; a failure becomes data. */
export function verifyForExplain(doc: Uint8Array, options: Pick<VerifyOptions, 'at' | 'roots' | 'maxAgeMs'>): ExplainDocument {
  try {
    // KMS checks measurements through the key policy, not here; debug documents verify and then
    // meet the policy's PCR conditions with their zero PCRs (explainKeyPolicy warns about them).
    const verified = verifyAttestation(doc, { ...options, anyPcrs: true, allowDebug: true });
    const root = verified.certificates.at(-1);
    return {
      verified: true,
      moduleId: verified.moduleId,
      timestamp: verified.timestamp,
      pcrs: verified.pcrs,
      ...(root === undefined ? {} : { rootSha256: root.sha256 }),
    };
  } catch (error) {
    if (!(error instanceof AttestationError)) throw error;
    let pcrs: Record<number, string> | undefined;
    try {
      pcrs = hexPcrs(parseAttestation(doc).pcrs);
    } catch {
      pcrs = undefined; // not even parseable: nothing to diagnose with
    }
    return { verified: false, error: { code: error.code, message: error.message }, ...(pcrs === undefined ? {} : { pcrs }) };
  }
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit policy explain', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      policy: { type: 'string' },
      document: { type: 'string' },
      principal: { type: 'string' },
      action: { type: 'string' },
      key: { type: 'string' },
      at: { type: 'string' },
      'max-age-ms': { type: 'string' },
      root: { type: 'string', multiple: true },
      'encryption-context': { type: 'string', multiple: true },
      'via-service': { type: 'string' },
      'identity-policy': { type: 'string', multiple: true },
    });
    const policy = parseKeyPolicy(await readFile(required(values.policy, 'policy'), 'utf8'));
    const identityFiles = values['identity-policy'];
    const identityPolicies = identityFiles === undefined
      ? undefined
      : await Promise.all(identityFiles.map(async (path) => parseIdentityPolicy(await readFile(path, 'utf8'))));
    const document = decodeDocumentFile(new Uint8Array(await readFile(required(values.document, 'document'))));
    const at = parseAt(values.at, Date.now());
    const maxAge = values['max-age-ms'];
    if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw new UsageError('--max-age-ms must be a whole number of ms');
    const roots = await Promise.all((values.root ?? []).map((path) => readFile(path, 'utf8')));

    let principalArn = values.principal;
    if (principalArn === undefined) {
      const found = attestedPrincipals(policy);
      if (found.length !== 1) {
        throw new UsageError(`--principal is required: the policy's attested statements name ${found.length === 0 ? 'no principal ARN' : `several (${found.join(', ')})`}`);
      }
      principalArn = found[0]!;
    }
    const action = values.action ?? 'kms:Decrypt';
    if (!/^[A-Za-z0-9-]+:[A-Za-z0-9]+$/.test(action)) throw new UsageError(`--action ${action}: expected SERVICE:Name, e.g. kms:Decrypt`);
    const account = accountOfArn(principalArn) ?? '111122223333';
    const resource = values.key ?? `arn:aws:kms:us-east-1:${account}:key/00000000-0000-0000-0000-000000000000`;

    const verification = verifyForExplain(document, {
      at,
      ...(roots.length > 0 ? { roots } : {}),
      ...(at === 'document' ? {} : { maxAgeMs: maxAge === undefined ? DEFAULT_MAX_AGE_MS : Number(maxAge) }),
    });
    const encryptionContext = parseContext(values['encryption-context'] ?? []);
    const result = explainKeyPolicy(
      policy,
      {
        principalArn,
        action,
        resource,
        ...(encryptionContext === undefined ? {} : { encryptionContext }),
        ...(values['via-service'] === undefined ? {} : { viaService: values['via-service'] }),
        ...(identityPolicies === undefined ? {} : { identityPolicies }),
      },
      verification,
    );
    if (!verification.verified && (verification.error.code === 'ERR_ATTESTATION_STALE' || verification.error.code === 'ERR_ATTESTATION_EXPIRED') && at !== 'document') {
      result.lines.splice(-1, 0, 'hint: --at document evaluates the document at its own timestamp');
    }
    process.stdout.write(`${result.lines.join('\n')}\n`);
    return result.allowed ? 0 : 1;
  });
}
