#!/usr/bin/env node
// Seals a card with the AWS Encryption SDK (as any producer service would, in any ESDK language)
// and asks the running dev stack to tokenize it. Usage:
//   node examples/tokenize-card.mjs [PAN] [MM/YY]        (reads .enclavekit/dev.json)
// When the stack is not running it says so in one line and exits 1.
// @aws-sdk/* are pinned exactly; their notice about future releases needing Node 22 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';

const NAME = 'tokenize-card';
function fail(message) {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(1);
}

const devJsonFile = process.env.ENCLAVEKIT_DEV_JSON ?? '.enclavekit/dev.json';
let dev;
try {
  dev = JSON.parse(readFileSync(devJsonFile, 'utf8'));
} catch {
  fail(`cannot read ${devJsonFile}: start the dev stack first (npm start)`);
}
const [pan = '4111111111111111', exp = '12/30'] = process.argv.slice(2);

// The producer's own KMS client: the "client" principal may Encrypt/GenerateDataKey with
// encryption context purpose=card, pii-text or pii-value (the API operations), and nothing else.
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
  let result;
  try {
    ({ result } = await encrypt(keyring, JSON.stringify({ pan, exp }), { encryptionContext: { purpose: 'card' } }));
  } catch (error) {
    fail(`cannot seal the card with the KMS simulator at ${dev.kms.endpoint} (${error?.code ?? error?.name ?? 'error'}): is the dev stack (npm start) running?`);
  }
  let response;
  try {
    response = await fetch(`${dev.parentUrl}/v1/cards/tokenize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ card: { esdk: Buffer.from(result).toString('base64') } }),
    });
  } catch (error) {
    fail(`cannot reach the parent at ${dev.parentUrl} (${error?.cause?.code ?? 'error'}): is the dev stack (npm start) running?`);
  }
  console.log(response.status, JSON.stringify(await response.json()));
} finally {
  kms.destroy();
}
