/**
 * Named long-lived keys the enclave unwrapped through attested KMS (the tokenization key, the
 * blind-index key). Replacing or clearing a key zeroes the old bytes and disposes what was built
 * from it. Keys are lent to callers for the duration of a function, never returned.
 */
import { ServiceError } from '../shared/errors.js';

interface Disposable {
  dispose?(): void;
}

export class KeyRing {
  readonly #keys = new Map<string, Uint8Array>();
  readonly #derived = new Map<string, Disposable>();

  /** Installs `key` (the ring owns it from now on); false when the same bytes were already loaded. */
  set(name: string, key: Uint8Array): boolean {
    const old = this.#keys.get(name);
    if (old !== undefined && Buffer.compare(old, key) === 0) {
      // The same key again (a parent reconnect re-sends wrapped keys): keep what was built.
      key.fill(0);
      return false;
    }
    this.#drop(name);
    this.#keys.set(name, key);
    return true;
  }

  /**
   * Installs a set of keys at once. A name that is already loaded must get the same bytes again
   * (a parent reconnect re-sends the wrapped keys): tokens must never silently change under a
   * running enclave, so different bytes are refused and nothing is changed. True when any key
   * was newly installed.
   */
  setAll(keys: ReadonlyMap<string, Uint8Array>): boolean {
    for (const [name, key] of keys) {
      const old = this.#keys.get(name);
      if (old !== undefined && Buffer.compare(old, key) !== 0) {
        for (const k of keys.values()) k.fill(0);
        throw new ServiceError('ERR_CONFIG', `key ${name} is already loaded with other bytes; restart the enclave to change it`);
      }
    }
    let changed = false;
    for (const [name, key] of keys) changed = this.set(name, key) || changed;
    return changed;
  }

  has(name: string): boolean {
    return this.#keys.has(name);
  }

  with<T>(name: string, fn: (key: Uint8Array) => T): T {
    const key = this.#keys.get(name);
    if (key === undefined) throw new ServiceError('ERR_NOT_READY', `key ${name} is not loaded`);
    return fn(key);
  }

  /** An object built once from a key (a tokenizer, an HMAC key), disposed when the key changes. */
  derive<T extends Disposable>(name: string, build: (key: Uint8Array) => T): T {
    const existing = this.#derived.get(name);
    if (existing !== undefined) return existing as T;
    const made = this.with(name, build);
    this.#derived.set(name, made);
    return made;
  }

  /** Fresh copies of every loaded key, for the worker pool's threads (the receiver zeroes them). */
  copies(): Map<string, Uint8Array> {
    return new Map([...this.#keys].map(([name, key]) => [name, key.slice()]));
  }

  clear(): void {
    for (const name of [...this.#keys.keys()]) this.#drop(name);
  }

  #drop(name: string): void {
    this.#derived.get(name)?.dispose?.();
    this.#derived.delete(name);
    this.#keys.get(name)?.fill(0);
    this.#keys.delete(name);
  }
}
