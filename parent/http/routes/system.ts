/** Health, readiness and the attestation document: the routes every deployment has. */
import { InputError, ServiceError } from '../../../shared/errors.js';
import { LIMITS } from '../../../shared/limits.js';
import type { EnclaveGateway } from '../../enclave-gateway.js';
import type { Route } from '../server.js';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function systemRoutes(enclave: EnclaveGateway): Route[] {
  return [
    { method: 'GET', path: '/healthz', auth: false, handle: async () => ({ body: { status: 'ok' } }) },
    {
      method: 'GET',
      path: '/readyz',
      auth: false,
      handle: async () => {
        const s = enclave.status();
        if (!s.ready) throw new ServiceError('ERR_ENCLAVE_UNAVAILABLE', s.reason ?? (s.connected ? 'enclave not ready' : 'enclave not connected'));
        return { body: { ready: true } };
      },
    },
    {
      method: 'GET',
      path: '/v1/attestation',
      auth: true,
      handle: async ({ query, signal }) => {
        const nonceHex = query.get('nonce');
        if (nonceHex !== null && (!HEX.test(nonceHex) || nonceHex.length / 2 > LIMITS.attestationFieldMaxBytes)) {
          throw new InputError('ERR_BAD_REQUEST', `nonce must be hex, at most ${LIMITS.attestationFieldMaxBytes} bytes`);
        }
        const nonce = nonceHex === null || nonceHex === '' ? undefined : Buffer.from(nonceHex, 'hex');
        const reply = (await enclave.call('attestation', { nonce }, { signal, allowNotReady: true })) as { document?: unknown };
        if (!(reply.document instanceof Uint8Array)) throw new ServiceError('ERR_INTERNAL', 'enclave sent no document');
        return { body: { document: Buffer.from(reply.document).toString('base64') } };
      },
    },
  ];
}
