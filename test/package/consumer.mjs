// A producer service's script, run from a temporary project that installed the packed tarball:
// plain Node ESM, importing only the package's public entry points and its dependencies. It
// verifies the enclave's attestation document against the simulator root, seals a card to the
// enclave with HPKE (Auth mode, an allowlisted sender) and with the ESDK (the card key), tokenizes
// both, asks for the PAN re-encrypted to a detokenize-to recipient and opens that answer as the
// recipient would (openDetokenized: the enclave's attested key must have sealed it). Prints one JSON
// line with what it got.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { KMS } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HpkeRecipient, createEsdkKeyring, openDetokenized, sealCardForEnclave, sealCardWithEsdk, verifyAttestation } from 'enclavekit/client';
import { verifyAttestation as verifyAlone } from 'enclavekit/verify';

const env = JSON.parse(process.env.CONSUMER_ENV ?? '{}');
const auth = { authorization: `Bearer ${env.apiToken}` };
const post = async (path, body) => {
  const response = await fetch(`${env.parentUrl}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
};

const { document } = await (await fetch(`${env.parentUrl}/v1/attestation`, { headers: auth })).json();
const attestationDocument = new Uint8Array(Buffer.from(document, 'base64'));
const verify = { at: Date.now(), roots: [readFileSync(env.rootPem, 'utf8')], expectedPcrs: env.pcrs, maxAgeMs: 300_000 };
const verified = verifyAttestation(attestationDocument, verify);
const sameVerdict = verifyAlone(attestationDocument, verify).moduleId === verified.moduleId;

const card = { pan: '4111111111111111', exp: '12/30' };
const hpke = await sealCardForEnclave(card, { attestationDocument, verify, senderKey: new Uint8Array(Buffer.from(env.senderKey, 'hex')) });
const viaHpke = await post('/v1/cards/tokenize', { card: { hpke } });

const kms = new KMS({
  endpoint: env.kms.endpoint,
  region: env.kms.region,
  credentials: env.kms.credentials,
  requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: env.kms.caPem }) }),
});
const keyring = await createEsdkKeyring({ cardKeyArn: env.kms.keyArn, kms });
const viaEsdk = await post('/v1/cards/tokenize', { card: await sealCardWithEsdk(card, { keyring }) });
kms.destroy();

const token = viaHpke.json.token;
const answer = await post('/v1/cards/detokenize-to', { token, recipient: env.recipient.name });
const recipient = await HpkeRecipient.fromPrivateKey(new Uint8Array(Buffer.from(env.recipient.privateKey, 'hex')));
const { pan } = await openDetokenized(answer.json, { token, recipient, verify: { ...verify, at: Date.now() } });
// The answer is bound to its token: presented as another token's, it does not open.
let otherToken;
try {
  await openDetokenized(answer.json, { token: `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`, recipient, verify: { ...verify, at: Date.now() } });
} catch (error) {
  otherToken = error.code;
}
const detokenized = { status: answer.status, pan, otherToken };

let refused;
try {
  verifyAttestation(attestationDocument, { ...verify, expectedPcrs: { 0: '00'.repeat(48) } });
} catch (error) {
  refused = error.code;
}
console.log(JSON.stringify({ moduleId: verified.moduleId, sameVerdict, viaHpke, viaEsdk, detokenized, refused }));
