#!/usr/bin/env node
// Seals one value with the AWS Encryption SDK under the dev stack's card key, as a producer service
// would, and prints the message in base64 (what a request's {"esdk": ...} carries). Usage:
//   node examples/seal.mjs card '{"pan":"4111111111111111","exp":"12/30"}'
//   node examples/seal.mjs pii-text 'Customer ann@example.com, SSN 536-22-1184'
//   node examples/seal.mjs pii-value email 'Ann@Example.com'
// The purpose (and field) go into the encryption context: the enclave refuses the message for any
// other operation (docs/api.md "Sealed inputs"). Reads .enclavekit/dev.json (or $ENCLAVEKIT_DEV_JSON).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';

const NAME = 'seal';
function fail(message, code = 1) {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
const purpose = args[0];
const field = purpose === 'pii-value' ? args[1] : undefined;
const plaintext = purpose === 'pii-value' ? args[2] : args[1];
if (!['card', 'pii-text', 'pii-value'].includes(purpose ?? '') || plaintext === undefined || (purpose === 'pii-value' && !field)) {
  fail('usage: node examples/seal.mjs card JSON | pii-text TEXT | pii-value FIELD VALUE', 2);
}

const devJsonFile = process.env.ENCLAVEKIT_DEV_JSON ?? '.enclavekit/dev.json';
let dev;
try {
  dev = JSON.parse(readFileSync(devJsonFile, 'utf8'));
} catch {
  fail(`cannot read ${devJsonFile}: start the dev stack first (npm start)`);
}

// The simulator's "client" principal: a producer, allowed to encrypt under the card key with the
// API's purposes only.
const kms = new KMS({
  endpoint: dev.kms.endpoint,
  region: dev.kms.region,
  credentials: dev.kms.clientCredentials,
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: dev.kms.caFile ? readFileSync(dev.kms.caFile) : undefined }) }),
});
try {
  const keyring = new KmsKeyringNode({ generatorKeyId: dev.kms.keyArn, clientProvider: () => kms });
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const encryptionContext = field === undefined ? { purpose } : { purpose, field };
  try {
    const { result } = await encrypt(keyring, plaintext, { encryptionContext });
    process.stdout.write(`${Buffer.from(result).toString('base64')}\n`);
  } catch (error) {
    fail(`cannot seal with the KMS simulator at ${dev.kms.endpoint} (${error?.code ?? error?.name ?? 'error'}): is the dev stack (npm start) running?`);
  }
} finally {
  kms.destroy();
}
