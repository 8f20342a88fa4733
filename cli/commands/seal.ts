/**
 * `enclavekit seal --kms-public-key FILE --op card|pii-text|pii-value [--field F]`: seals stdin
 * offline to a KMS RSA key's public key (docs/api.md "Inputs sealed to a KMS RSA public key") and
 * prints the `kmsRsa` input in base64. Needs no AWS credentials and makes no network call.
 */
import { readFile } from 'node:fs/promises';
import { kmsRsaKeyId, sealWithKmsPublicKey } from '../../shared/sealed/kms-rsa-sealer.js';
import { UsageError, parseOptions, required, runCli } from '../args.js';

const USAGE = `usage: enclavekit seal --kms-public-key FILE --op card|pii-text|pii-value [--field F] < plaintext

Reads the plaintext on stdin and prints the sealed input in base64, for {"kmsRsa": "<base64>"}:
  --kms-public-key FILE  the KMS RSA key's public key, DER or PEM SubjectPublicKeyInfo, e.g.
                         aws kms get-public-key --key-id ARN --query PublicKey --output text | base64 -d > key.der
  --op OP                card (tokenize, tokenize-batch), pii-text (redact) or pii-value (blind-index)
  --field F              with pii-value: the blind-index field (email, phone, ssn, name)
Each run wraps a fresh secret (one KMS call in the enclave per value); to seal many values under
one wrapped secret, use KmsRsaSealer from enclavekit/client.
`;

const OPS = ['card', 'pii-text', 'pii-value'] as const;
/** The largest plaintext the API accepts in one sealed value (docs/api.md "Limits"). */
const MAX_STDIN_BYTES = 64 * 1024;

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_STDIN_BYTES) throw new UsageError(`stdin: at most ${MAX_STDIN_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit seal', USAGE, args, async () => {
    const { values } = parseOptions(args, { 'kms-public-key': { type: 'string' }, op: { type: 'string' }, field: { type: 'string' } });
    const file = required(values['kms-public-key'], 'kms-public-key');
    const op = required(values.op, 'op');
    if (!(OPS as readonly string[]).includes(op)) throw new UsageError('--op must be card, pii-text or pii-value');
    const field = values.field;
    if (op === 'pii-value' && field === undefined) throw new UsageError('--op pii-value needs --field');
    if (op !== 'pii-value' && field !== undefined) throw new UsageError(`--op ${op} takes no --field`);
    const publicKey = new Uint8Array(await readFile(file));
    try {
      // Parsed first so that a wrong file is a usage mistake, not a crash.
      kmsRsaKeyId(publicKey);
    } catch {
      throw new UsageError('--kms-public-key: expected an RSA 2048, 3072 or 4096 SubjectPublicKeyInfo (DER or PEM)');
    }
    const plaintext = await readStdin();
    let sealed: Uint8Array;
    try {
      sealed = sealWithKmsPublicKey(publicKey, plaintext, { purpose: op, field });
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(`--field: ${error.message}`);
      throw error;
    } finally {
      plaintext.fill(0);
    }
    process.stdout.write(`${Buffer.from(sealed).toString('base64')}\n`);
    return 0;
  });
}
