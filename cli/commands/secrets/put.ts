/**
 * `enclavekit secrets put --store ssm|secretsmanager --name NAME --key KEY_ARN < plaintext`:
 * seals stdin with KMS Encrypt under the enclave's internal key and stores only the ciphertext
 * (cli/secrets/put-sealed-secret.ts); prints the new version as JSON. Credentials come from the
 * AWS SDK's default chain (environment, profile, instance role).
 */
import { readFile } from 'node:fs/promises';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KMS_KEY_ARN } from '../../../shared/aws/kms-key-arn.js';
import { MAX_SECRET_BYTES, READABLE_SECRET_PREFIX, SECRET_STORES, type SecretStoreName } from '../../../shared/secrets/sealed-secret.js';
import { putSealedSecret } from '../../secrets/put-sealed-secret.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';
import { extraCaAgent } from '../../extra-ca-agent.js';

const USAGE = `usage: enclavekit secrets put --store ssm|secretsmanager --name NAME --key KEY_ARN
                             [--region R] [--endpoint URL] [--kms-endpoint URL] [--ca-file FILE] < plaintext

Seals stdin (1..${MAX_SECRET_BYTES} bytes) with KMS Encrypt under the enclave's internal key, encryption
context {"purpose":"secret","store":STORE,"name":NAME}, and stores the base64 ciphertext: SSM
PutParameter (Type String, Overwrite; tier Advanced when over 4096 characters) or Secrets Manager
CreateSecret / PutSecretValue. The plaintext never goes to the store. Prints {"store","name","version"}.
  --store S          ssm or secretsmanager
  --name NAME        the parameter or secret name (as named in the enclave config's secrets.items);
                     the parent role policy lets the enclave read only /enclavekit/... (ssm) and
                     enclavekit/... (secretsmanager): other names get a warning on stderr
  --key KEY_ARN      the internal KMS key (the enclave config's secrets.keyArn)
  --region R         AWS region (default: AWS_REGION / the SDK's configuration)
  --endpoint URL     the store's endpoint (default: the regional one, or AWS_ENDPOINT_URL_SSM/_SECRETS_MANAGER)
  --kms-endpoint URL the KMS endpoint (default: the regional one, or AWS_ENDPOINT_URL_KMS)
  --ca-file FILE     PEM of an extra trust anchor for both endpoints (the simulator's CA), added to Node's roots
Credentials: the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, role).
`;

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_SECRET_BYTES) {
      for (const c of chunks) c.fill(0);
      chunk.fill(0);
      throw new UsageError(`stdin: at most ${MAX_SECRET_BYTES} bytes (KMS Encrypt's plaintext limit)`);
    }
    chunks.push(chunk);
  }
  const plaintext = new Uint8Array(Buffer.concat(chunks));
  for (const c of chunks) c.fill(0);
  if (plaintext.length === 0) throw new UsageError('stdin: the secret is empty');
  return plaintext;
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit secrets put', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      store: { type: 'string' },
      name: { type: 'string' },
      key: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'kms-endpoint': { type: 'string' },
      'ca-file': { type: 'string' },
    });
    const store = required(values.store, 'store');
    if (!(SECRET_STORES as readonly string[]).includes(store)) throw new UsageError('--store must be ssm or secretsmanager');
    const name = required(values.name, 'name');
    const keyArn = required(values.key, 'key');
    if (!KMS_KEY_ARN.test(keyArn)) throw new UsageError('--key must be a KMS key ARN');
    for (const option of ['endpoint', 'kms-endpoint'] as const) {
      const url = values[option];
      if (url !== undefined && !URL.canParse(url)) throw new UsageError(`--${option} must be a URL`);
    }
    const ca = values['ca-file'] === undefined ? undefined : await readFile(values['ca-file']);
    const common = {
      ...(values.region === undefined ? {} : { region: values.region }),
      requestHandler: new NodeHttpHandler({ httpsAgent: extraCaAgent(ca) }),
    };
    const prefix = READABLE_SECRET_PREFIX[store as SecretStoreName];
    if (!name.startsWith(prefix)) {
      // Stored anyway (a custom role policy may allow it), but the shipped one would not let the enclave read it.
      process.stderr.write(`enclavekit secrets put: warning: --name does not start with ${prefix}; the parent role policy (deploy/iam/parent-instance-role-policy.json) allows reads only under it\n`);
    }
    const plaintext = await readStdin();
    const kms = new KMSClient({ ...common, ...(values['kms-endpoint'] === undefined ? {} : { endpoint: values['kms-endpoint'] }) });
    const endpoint = values.endpoint === undefined ? {} : { endpoint: values.endpoint };
    const storeClient =
      (store as SecretStoreName) === 'ssm'
        ? { name: 'ssm' as const, client: new SSMClient({ ...common, ...endpoint }) }
        : { name: 'secretsmanager' as const, client: new SecretsManagerClient({ ...common, ...endpoint }) };
    try {
      const result = await putSealedSecret({ kms, store: storeClient, secretName: name, keyArn, plaintext });
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      plaintext.fill(0);
      kms.destroy();
      storeClient.client.destroy();
    }
  });
}
