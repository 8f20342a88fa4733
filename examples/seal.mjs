#!/usr/bin/env node
// Seals one value with the AWS Encryption SDK under the dev stack's card key, as a producer service
// would, and prints the message in base64 (what a request's {"esdk": ...} carries). Usage:
//   node examples/seal.mjs card '{"pan":"4111111111111111","exp":"12/30"}'
//   node examples/seal.mjs pii-text 'Customer ann@example.com, SSN 536-22-1184'
//   node examples/seal.mjs pii-value email 'Ann@Example.com'
// The purpose (and field) go into the encryption context: the enclave refuses the message for any
// other operation (docs/api.md "Sealed inputs"). Reads .enclavekit/dev.json (or $ENCLAVEKIT_DEV_JSON).
import { failer, loadDev, sealWithEsdk } from './dev-producer.mjs';

const fail = failer('seal');
const [purpose, ...rest] = process.argv.slice(2);
const [field, plaintext] = purpose === 'pii-value' ? rest : [undefined, rest[0]];
if (!['card', 'pii-text', 'pii-value'].includes(purpose ?? '') || plaintext === undefined || (purpose === 'pii-value' && !field)) {
  fail('usage: node examples/seal.mjs card JSON | pii-text TEXT | pii-value FIELD VALUE', 2);
}
const dev = loadDev(fail);
const message = await sealWithEsdk(dev, plaintext, field === undefined ? { purpose } : { purpose, field }, fail);
process.stdout.write(`${Buffer.from(message).toString('base64')}\n`);
