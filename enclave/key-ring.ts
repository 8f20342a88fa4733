/**
 * Named long-lived keys the enclave unwrapped through attested KMS (the tokenization key, the
 * blind-index key). Replacing or clearing a key zeroes the old bytes. Keys are lent to callers
 * for the duration of a synchronous or async function, never returned.
 */
import { ServiceError } from '../shared/errors.js';

export class KeyRing {
  readonly #keys = new Map<string, Uint8Array>();

  set(name: string, key: Uint8Array): void {
    this.#keys.get(name)?.fill(0);
    this.#keys.set(name, key);
  }

  has(name: string): boolean {
    return this.#keys.has(name);
  }

  with<T>(name: string, fn: (key: Uint8Array) => T): T {
    const key = this.#keys.get(name);
    if (key === undefined) throw new ServiceError('ERR_NOT_READY', `key ${name} is not loaded`);
    return fn(key);
  }

  clear(): void {
    for (const key of this.#keys.values()) key.fill(0);
    this.#keys.clear();
  }
}
