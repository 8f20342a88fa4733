// What the examples share: dev.json of the running dev stack and a KMS client as the simulator's
// producer principal ("client": it may encrypt under the card key with the API's purposes only).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';

/** Prints `NAME: message` and exits (1 unless told). */
export function failer(name) {
  return (message, code = 1) => {
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(code);
  };
}

/** .enclavekit/dev.json, or $ENCLAVEKIT_DEV_JSON. */
export function loadDev(fail) {
  const file = process.env.ENCLAVEKIT_DEV_JSON ?? '.enclavekit/dev.json';
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return fail(`cannot read ${file}: start the dev stack first (npm start)`);
  }
}

/** Seals `plaintext` with the AWS Encryption SDK under the card key; the message's bytes. */
export async function sealWithEsdk(dev, plaintext, encryptionContext, fail) {
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
    return (await encrypt(keyring, plaintext, { encryptionContext })).result;
  } catch (error) {
    return fail(`cannot seal with the KMS simulator at ${dev.kms.endpoint} (${error?.code ?? error?.name ?? 'error'}): is the dev stack (npm start) running?`);
  } finally {
    kms.destroy();
  }
}
