/**
 * NsmTransport over the real device: NSM_IOCTL_RAW on /dev/nsm through the native addon
 * (native/nsm_ioctl.c), on a libuv worker thread. Error handling mirrors
 * aws/aws-nitro-enclaves-nsm-api src/driver/mod.rs: a request above 4096 bytes is never sent and,
 * like the ioctl's -EMSGSIZE, answered as `Error(InputTooLarge)`; any other errno is the NSM's
 * InternalError (ENOTTY, an fd that is not an NSM, is reported as the device being unavailable).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { ServiceError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { isSystemError, loadAddon } from '../../shared/native/addon.js';
import { encodeNsmResponse, NsmError } from '../../shared/nsm/codec.js';
import type { NsmTransport } from '../../shared/nsm/types.js';

export const NSM_DEVICE_PATH = '/dev/nsm';

/**
 * Opens the NSM device (read-write, as nsm-api's `nsm_init`). Throws ERR_NSM_UNAVAILABLE when the
 * device or the addon is missing.
 */
export function openNsmDevice(path: string = NSM_DEVICE_PATH): NsmTransport {
  const addon = loadAddon('nsm');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR); // libuv adds O_CLOEXEC itself
  } catch (error) {
    const code = isSystemError(error) ? error.code : 'EIO';
    throw new ServiceError('ERR_NSM_UNAVAILABLE', `cannot open NSM device ${path} (${code})`, { cause: error });
  }

  let open = true;
  const inFlight = new Set<Promise<unknown>>();

  return {
    async call(request: Uint8Array): Promise<Uint8Array> {
      if (!open) throw new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM device is closed');
      if (request.length > LIMITS.nsmRequestMaxBytes) return encodeNsmResponse({ kind: 'Error', code: 'InputTooLarge' });
      const pending = addon.nsmIoctl(fd, request);
      inFlight.add(pending);
      try {
        return await pending;
      } catch (error) {
        const code = isSystemError(error) ? error.code : 'EIO';
        if (code === 'EMSGSIZE') return encodeNsmResponse({ kind: 'Error', code: 'InputTooLarge' });
        if (code === 'ENOTTY') {
          throw new ServiceError('ERR_NSM_UNAVAILABLE', `${path} is not an NSM device (ENOTTY)`, { cause: error });
        }
        throw new NsmError('InternalError', `ioctl failed (${code})`, { cause: error });
      } finally {
        inFlight.delete(pending);
      }
    },

    /** Waits for calls still on the worker pool (the fd must outlive them), then closes. */
    async close(): Promise<void> {
      if (!open) return;
      open = false;
      await Promise.allSettled([...inFlight]);
      closeSync(fd);
    },
  };
}
