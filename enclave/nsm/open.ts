/**
 * Chooses the NSM from the configuration: the /dev/nsm device in a real enclave, or a simulator
 * process over a Unix socket in dev and CI. The simulator is never chosen implicitly, and saying
 * so is loud: an operator must not mistake a simulated enclave for a real one.
 */
import type { Nsm } from '../../shared/nsm/types.js';
import { NsmClient } from './client.js';
import { connectNsmSocket } from './socket.js';

export async function openNsm(spec: string, warn: (line: string) => void): Promise<Nsm> {
  if (spec.startsWith('sim+unix://')) {
    const path = spec.slice('sim+unix://'.length);
    warn(`*** SIMULATED NSM at ${path}: attestation is NOT hardware-backed (dev/CI only) ***`);
    return new NsmClient(connectNsmSocket(path));
  }
  if (spec.startsWith('device:')) {
    const { openNsmDevice } = await import('./device.js');
    return new NsmClient(openNsmDevice(spec.slice('device:'.length)));
  }
  throw new RangeError(`unknown NSM source ${spec}`);
}
