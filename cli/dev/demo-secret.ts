/**
 * The dev stack's demo sealed secret: a fresh random value sealed under the internal key into
 * Parameter Store (as `enclavekit secrets put` does) on every start, before the enclaves boot, and
 * named in the enclave config so the enclave loads it. Nobody outside the enclave keeps the value.
 */
import { randomBytes } from 'node:crypto';
import { putSealedSecret } from '../secrets/put-sealed-secret.js';
import type { StackSetup } from './stack.js';
import type { EnclaveOverrides } from './stack-config.js';
import { storeClientsFor } from './stack-stores.js';

export const DEMO_SECRET = { store: 'ssm', name: '/enclavekit/dev/demo-secret' } as const;

export async function putDemoSecret(setup: StackSetup): Promise<EnclaveOverrides> {
  const clients = await storeClientsFor(setup, setup.principal('admin'));
  const value = new Uint8Array(randomBytes(32));
  try {
    await putSealedSecret({ kms: setup.admin, store: { name: 'ssm', client: clients.ssm }, secretName: DEMO_SECRET.name, keyArn: setup.internalKeyArn, plaintext: value });
  } finally {
    value.fill(0);
    clients.ssm.destroy();
    clients.secretsManager.destroy();
  }
  return { secrets: { keyArn: setup.internalKeyArn, items: [{ ...DEMO_SECRET }] } };
}
