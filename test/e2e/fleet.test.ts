/**
 * Two complete hosts (parent + enclave processes each) against one KMS simulator, as in a fleet
 * behind a load balancer: the same card gives the same token on both, because every host decrypts
 * the same wrapped tokenization key. Then a rolling update with the key policy the CDK app
 * synthesizes (deploy/cdk/src/key-policies.ts): host A runs a new image (another PCR0), host B
 * the old one; with both attested statements every request on either host succeeds, and once the
 * follow-up deploy removes the old statement, host B's next boot is refused by KMS and its /readyz
 * says why, while host A keeps serving.
 */
import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCER_PURPOSES } from '../../shared/policy/generate.js';
import { cardKeyPolicy, internalKeyPolicy, SID_ENCLAVE_PREVIOUS, type KeyPolicyInputs } from '../../deploy/cdk/src/key-policies.js';
import { DEFAULT_ACCOUNT } from '../../sim/state.js';
import { startPeerHost, type Host } from './fleet-host.js';
import { esdkProducer, type Producer } from './producer.js';
import { ENCLAVE_BUNDLE, startStack, type Stack } from './stack.js';

// A Luhn-valid test card (4539 1488 0343 6467).
const CARD = { pan: '4539148803436467', exp: '12/39', cvc: '731' };

const dir = mkdtempSync(path.join(tmpdir(), 'ek-fleet-'));
const NEW_BUNDLE = path.join(dir, 'enclave-new.js');
let hostA: Stack; // the new image
let hostB: Host; // the old image
let producer: Producer;

type Api = (pathname: string, init?: RequestInit) => Promise<{ status: number; json: any }>;

async function waitFor(api: Api, accept: (r: { status: number; json: any }) => boolean, what: string): Promise<{ status: number; json: any }> {
  let last: { status: number; json: any } | undefined;
  for (let i = 0; i < 600; i++) {
    last = await api('/readyz');
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: last /readyz ${JSON.stringify(last)}`);
}
const ready = (api: Api) => waitFor(api, (r) => r.status === 200, 'never ready');
const refused = (api: Api) => waitFor(api, (r) => String(r.json?.error?.message).includes('ERR_KMS_ACCESS_DENIED'), 'never refused');

async function tokenize(api: Api, sealed: string): Promise<{ status: number; json: any }> {
  return api('/v1/cards/tokenize', { method: 'POST', body: JSON.stringify({ card: { esdk: sealed } }) });
}

async function putPolicy(previous: boolean): Promise<string[]> {
  const inputs: KeyPolicyInputs = {
    account: DEFAULT_ACCOUNT,
    enclaveRoleArn: hostA.principal('enclave').arn,
    adminArns: [hostA.principal('admin').arn],
    producerArns: [hostA.principal('client').arn],
    producerPurposes: [...PRODUCER_PURPOSES],
    keygenArns: [hostA.principal('admin').arn],
    pcrs: { 0: hostA.pcrs[0]! },
    ...(previous ? { previousPcrs: { 0: hostB.pcrs[0]! } } : {}),
  };
  // Both keys admit the same images: card data keys and the wrapped enclave keys (internal key).
  const card = cardKeyPolicy(inputs);
  const internal = internalKeyPolicy(inputs);
  for (const [KeyId, policy] of [[hostA.keyArn, card], [hostA.internalKeyArn, internal]] as const) {
    await hostA.kms('admin').send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) }));
  }
  expect(internal.Statement.map((s) => s.Sid).filter((sid) => sid.startsWith('EnclaveKitAttestedEnclave'))).toEqual(card.Statement.map((s) => s.Sid).filter((sid) => sid.startsWith('EnclaveKitAttestedEnclave')));
  return card.Statement.map((s) => s.Sid);
}

beforeAll(async () => {
  copyFileSync(ENCLAVE_BUNDLE, NEW_BUNDLE);
  appendFileSync(NEW_BUNDLE, '\n// the next release\n');
  // Host A runs the new image; the key policy starts out admitting only the old one (host B's).
  hostA = await startStack({ bundle: NEW_BUNDLE, policyBundle: ENCLAVE_BUNDLE });
  hostB = await startPeerHost(hostA, ENCLAVE_BUNDLE);
  producer = esdkProducer(hostA.sim, hostA.principal('client'), hostA.keyArn);
}, 180_000);

afterAll(async () => {
  producer?.close();
  await hostB?.close();
  await hostA?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a fleet of two hosts on one KMS', () => {
  it('runs two images: the new one has another PCR0', () => {
    expect(hostA.pcrs[0]).not.toBe(hostB.pcrs[0]);
    expect(hostA.pcrs[1]).toBe(hostB.pcrs[1]);
  });

  it('before the rollout only the old image gets the keys: host B serves, host A is refused', async () => {
    await ready(hostB.api);
    expect((await refused(hostA.api)).status).toBe(503);
    expect((await tokenize(hostB.api, await producer.sealCard(CARD))).status).toBe(200);
  }, 120_000);

  it('during the rollout (both statements) both hosts serve every request, with the same token for the same card', async () => {
    expect(await putPolicy(true)).toContain(SID_ENCLAVE_PREVIOUS);
    // Host A boots again, as a replacement host would, and now gets its keys.
    await hostA.stopEnclave();
    await hostA.startEnclave();
    await ready(hostA.api);
    await ready(hostB.api);
    const tokens = new Set<string>();
    // Alternate hosts as a load balancer would; each request is a fresh ESDK message (own data key).
    for (let i = 0; i < 12; i++) {
      const api = i % 2 === 0 ? hostA.api : hostB.api;
      const res = await tokenize(api, await producer.sealCard(CARD));
      expect(res.status, `request ${i} on host ${i % 2 === 0 ? 'A' : 'B'}: ${JSON.stringify(res.json)}`).toBe(200);
      tokens.add(res.json.token);
    }
    expect(tokens.size).toBe(1);
    const [token] = tokens;
    expect(token).toMatch(/^\d{16}$/);
    expect(token).not.toBe(CARD.pan);
  }, 180_000);

  it('after the follow-up deploy removes the old statement, host B is refused by KMS and /readyz says why; host A still serves', async () => {
    expect(await putPolicy(false)).not.toContain(SID_ENCLAVE_PREVIOUS);
    await hostB.stopEnclave();
    await hostB.startEnclave();
    const res = await refused(hostB.api);
    expect(res.status).toBe(503);
    expect(res.json.error).toEqual({ code: 'ERR_ENCLAVE_UNAVAILABLE', message: expect.stringMatching(/^(key load|enclave setup) failed \(ERR_KMS_ACCESS_DENIED\)$/) });
    expect((await tokenize(hostB.api, await producer.sealCard(CARD))).status).toBe(503);
    // The new image still boots and serves under the settled policy.
    await hostA.stopEnclave();
    await hostA.startEnclave();
    await ready(hostA.api);
    expect((await tokenize(hostA.api, await producer.sealCard(CARD))).status).toBe(200);
  }, 180_000);
});
