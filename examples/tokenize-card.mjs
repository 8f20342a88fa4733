#!/usr/bin/env node
// Seals a card with the AWS Encryption SDK (as any producer service would, in any ESDK language)
// and asks the running dev stack to tokenize it. Usage:
//   node examples/tokenize-card.mjs [PAN] [MM/YY]        (reads .enclavekit/dev.json)
// When the stack is not running it says so in one line and exits 1.
import { failer, loadDev, sealWithEsdk } from './dev-producer.mjs';

const fail = failer('tokenize-card');
const dev = loadDev(fail);
const [pan = '4111111111111111', exp = '12/30'] = process.argv.slice(2);
const message = await sealWithEsdk(dev, JSON.stringify({ pan, exp }), { purpose: 'card' }, fail);
let response;
try {
  response = await fetch(`${dev.parentUrl}/v1/cards/tokenize`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ card: { esdk: Buffer.from(message).toString('base64') } }),
  });
} catch (error) {
  fail(`cannot reach the parent at ${dev.parentUrl} (${error?.cause?.code ?? 'error'}): is the dev stack (npm start) running?`);
}
console.log(response.status, JSON.stringify(await response.json()));
