/**
 * A custom enclave operation that uses a sealed secret as an HMAC key, the way an application
 * would during a key rotation: `test.secret-mac` signs with the current version and verifies a
 * given MAC against the current and every unretired version (EnclaveServices.secrets). It returns
 * MACs and version ids only, never the key. Built into a test enclave bundle by
 * test/e2e/secrets.test.ts, with the parent route in parent-entry.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { HandlerRegistry } from '../../../enclave/app/registry.js';
import type { EnclaveServices } from '../../../enclave/runtime.js';

export const SECRET_MAC_OP = 'test.secret-mac';

export const secretMacInput = z.strictObject({
  name: z.string().min(1).max(2048),
  message: z.string().max(1024),
  mac: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

const hmac = (key: Uint8Array, message: string): Buffer => createHmac('sha256', key).update(message, 'utf8').digest();

export function registerSecretMac(registry: HandlerRegistry, services: EnclaveServices): void {
  registry.register({
    op: SECRET_MAC_OP,
    input: secretMacInput,
    handle: async ({ name, message, mac }) => {
      const signed = services.secrets.use(name, (key, version) => ({ mac: hmac(key, message).toString('hex'), version }));
      const given = mac === undefined ? undefined : Buffer.from(mac, 'hex');
      const verifiedBy = given === undefined ? null : (services.secrets.useEach(name, (key, version) => (timingSafeEqual(hmac(key, message), given) ? version : null)).find((v) => v !== null) ?? null);
      return { ...signed, verifiedBy, versions: services.secrets.versions(name) };
    },
  });
}
