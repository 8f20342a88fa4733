/**
 * `Nsm` over raw NSM messages: encodes each operation as the nsm-api `Request`, hands the bytes to a
 * transport (the /dev/nsm ioctl, or a Unix socket to the simulator) and decodes the `Response`.
 * Mirrors aws/aws-nitro-enclaves-nsm-api src/driver/mod.rs `nsm_process_request`: an encoded
 * request above 4096 bytes is refused with InputTooLarge without calling the device.
 */
import { EnclaveKitError, ServiceError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { decodeNsmResponse, encodeNsmRequest, NsmError, type NsmRequest, type NsmResponse } from '../../shared/nsm/codec.js';
import type { AttestationRequest, Nsm, NsmDescription, NsmTransport, PcrDescription } from '../../shared/nsm/types.js';

type ResponseOf<K extends NsmResponse['kind']> = Extract<NsmResponse, { kind: K }>;

export class NsmClient implements Nsm {
  constructor(private readonly transport: NsmTransport) {}

  async describePcr(index: number): Promise<PcrDescription> {
    const { lock, data } = await this.call({ kind: 'DescribePCR', index }, 'DescribePCR');
    return { lock, data };
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    return (await this.call({ kind: 'ExtendPCR', index, data }, 'ExtendPCR')).data;
  }

  async lockPcr(index: number): Promise<void> {
    await this.call({ kind: 'LockPCR', index }, 'LockPCR');
  }

  async lockPcrs(range: number): Promise<void> {
    await this.call({ kind: 'LockPCRs', range }, 'LockPCRs');
  }

  async describeNsm(): Promise<NsmDescription> {
    const { kind: _kind, ...description } = await this.call({ kind: 'DescribeNSM' }, 'DescribeNSM');
    return description;
  }

  async attest(request: AttestationRequest): Promise<Uint8Array> {
    // docs/formats.md section 0 item 5: the NSM accepts up to 1024 bytes in each of the three fields.
    const fields = { user_data: request.userData, nonce: request.nonce, public_key: request.publicKey };
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value.length > LIMITS.attestationFieldMaxBytes) {
        throw new NsmError('InputTooLarge', `${name} exceeds ${LIMITS.attestationFieldMaxBytes} bytes`);
      }
    }
    const { document } = await this.call(
      { kind: 'Attestation', userData: request.userData ?? null, nonce: request.nonce ?? null, publicKey: request.publicKey ?? null },
      'Attestation',
    );
    if (document.length === 0 || document.length > LIMITS.attestationDocumentMaxBytes) {
      throw new ServiceError('ERR_NSM_MALFORMED', 'malformed NSM response: attestation document size out of range');
    }
    return document;
  }

  async getRandom(): Promise<Uint8Array> {
    return (await this.call({ kind: 'GetRandom' }, 'GetRandom')).random;
  }

  async close(): Promise<void> {
    await this.transport.close?.();
  }

  private async call<K extends NsmResponse['kind']>(request: NsmRequest, expected: K): Promise<ResponseOf<K>> {
    const encoded = encodeNsmRequest(request);
    if (encoded.length > LIMITS.nsmRequestMaxBytes) {
      throw new NsmError('InputTooLarge', `request of ${encoded.length} bytes exceeds ${LIMITS.nsmRequestMaxBytes}`);
    }
    let raw: Uint8Array;
    try {
      raw = await this.transport.call(encoded);
    } catch (error) {
      if (error instanceof EnclaveKitError) throw error;
      throw new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM transport failed', { cause: error });
    }
    const response = decodeNsmResponse(raw);
    if (response.kind === 'Error') throw new NsmError(response.code, `${request.kind} refused`);
    if (response.kind !== expected) {
      // The nsm-api calls this InvalidResponse: the answer does not belong to the request.
      throw new ServiceError('ERR_NSM_MALFORMED', `malformed NSM response: ${response.kind} answers ${request.kind}`);
    }
    return response as ResponseOf<K>;
  }
}
