/** Runs one store failure through the enclave's store reader and the CLI's writer, with fake clients. */
import { SSMClient } from '@aws-sdk/client-ssm';
import { vi } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { createStoreSource } from '../../enclave/secrets/store-source.js';
import { putSealedSecret } from '../../cli/secrets/put-sealed-secret.js';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';

export async function mapStoreErrorName(thrown: unknown): Promise<{ read: string; put: string }> {
  const spy = vi.spyOn(SSMClient.prototype, 'send').mockImplementation(async () => Promise.reject(thrown));
  try {
    const config = parseEnclaveConfig({ kms: { region: 'us-east-1' }, secrets: { keyArn: KEY, items: [{ store: 'ssm', name: '/enclavekit/a' }] } });
    const source = createStoreSource(config, () => Promise.reject(new Error('no tunnel')), async () => ({}) as never);
    const read = await source.read({ store: 'ssm', name: '/enclavekit/a' }).then(() => 'resolved', (e: Error) => e.message);
    source.destroy();
    const kms = { send: async () => ({ CiphertextBlob: new Uint8Array([1]) }) } as never;
    const client = { send: async () => Promise.reject(thrown) } as never;
    const put = await putSealedSecret({ kms, store: { name: 'ssm', client }, secretName: '/enclavekit/a', keyArn: KEY, plaintext: new Uint8Array([1]) }).then(() => 'resolved', (e: Error) => e.message);
    return { read, put };
  } finally {
    spy.mockRestore();
  }
}
