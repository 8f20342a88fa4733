/**
 * The enclave's sealed secrets: loaded after boot, re-read every `pollIntervalMs` (one poll at a
 * time, on an unref'd timer) so a new version is picked up without a restart. A replaced version
 * keeps verifying for `retireAfterMs` (e.g. an HMAC key during rotation), then is zeroed and
 * dropped. Values are lent to callers for the duration of a synchronous callback, never copied
 * out; close() zeroes everything. Logs carry names and version ids only, never values.
 *
 * The parent relays the store traffic and can block it: that delays a rotation but is visible as
 * poll failures and in the age of each secret's last successful read (stats, and readiness when
 * `maxStaleMs` is set). It cannot substitute a value (the store's answer must name the pinned
 * account, ./store-answer.ts) nor roll an SSM parameter back to a lower version (refused here).
 */
import { EnclaveKitError, ServiceError } from '../../shared/errors.js';
import type { EventFields, EventLevel } from '../boot-report.js';
import type { SecretItem, SecretSource } from './store-source.js';

export interface SealedSecretsOptions {
  items: readonly SecretItem[];
  source: SecretSource;
  /** Opens a stored value (enclave/secrets/open-secret.ts bound to the attested KMS client). */
  open: (item: SecretItem, stored: string) => Promise<Uint8Array>;
  pollIntervalMs: number;
  retireAfterMs: number;
  /** A secret not read successfully for longer than this makes reason() report it stale. */
  maxStaleMs?: number;
  now?: () => number;
  log?: (event: string, fields: EventFields, level?: EventLevel) => void;
}

interface Version {
  version: string;
  value: Uint8Array;
  /** When a newer version replaced it (absent: the current one). */
  replacedAt?: number;
}

interface Slot {
  item: SecretItem;
  current: Version | undefined;
  /** Replaced but not yet retired, newest first. */
  previous: Version[];
  /** When the store last answered for it and the answer was accepted (absent: never). */
  lastReadAt?: number;
}

/** The narrow view handlers get (EnclaveServices.secrets). */
export interface Secrets {
  /** Calls `fn` with the current value of `name` (borrowed: do not keep it past the call). */
  use<R>(name: string, fn: (value: Uint8Array, version: string) => R): R;
  /** Calls `fn` for the current value, then each replaced version not yet retired. */
  useEach<R>(name: string, fn: (value: Uint8Array, version: string) => R): R[];
  /** Version ids of `name`: the current one first, then the unretired replaced ones. */
  versions(name: string): string[];
}

/**
 * Replaced versions kept at most per secret, whatever retireAfterMs says: a burst of rotations
 * (or a store that keeps answering new versions) must not grow the enclave's memory of plaintexts.
 */
export const MAX_PREVIOUS_VERSIONS = 4;

/** First retry of a failed initial load, ms; doubles up to pollIntervalMs. */
const FIRST_RETRY_MS = 500;

export class SealedSecrets implements Secrets {
  readonly #options: SealedSecretsOptions;
  readonly #now: () => number;
  readonly #slots = new Map<string, Slot>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;
  #started = false;
  #lastFailure: string | undefined;
  #retryMs = FIRST_RETRY_MS;
  readonly #stats = { loads: 0, rotations: 0, retirements: 0, failures: 0 };

  constructor(options: SealedSecretsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    for (const item of options.items) this.#slots.set(item.name, { item, current: undefined, previous: [] });
  }

  /** True once every configured secret has a current version. */
  loaded(): boolean {
    return [...this.#slots.values()].every((slot) => slot.current !== undefined);
  }

  /** Why not loaded yet: the first secret that failed, with its error code; never a value. */
  reason(): string | undefined {
    if (!this.loaded()) return this.#lastFailure ?? 'waiting for secrets';
    const maxStaleMs = this.#options.maxStaleMs;
    if (maxStaleMs === undefined) return undefined;
    const now = this.#now();
    for (const slot of this.#slots.values()) {
      if (now - (slot.lastReadAt ?? now) > maxStaleMs) return `secret ${slot.item.name} stale`;
    }
    return undefined;
  }

  /** Counters, and per secret the ms since its last accepted read (null: never read), for alerts on a frozen secret. */
  stats(): { loads: number; rotations: number; retirements: number; failures: number; lastReadAgeMs: Record<string, number | null> } {
    const now = this.#now();
    const lastReadAgeMs: Record<string, number | null> = {};
    for (const [name, slot] of this.#slots) lastReadAgeMs[name] = slot.lastReadAt === undefined ? null : now - slot.lastReadAt;
    return { ...this.#stats, lastReadAgeMs };
  }

  /** Starts the first load now, then polls; later calls do nothing. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** One pass over every secret: load or rotate, then retire what is due. One pass at a time. */
  poll(): Promise<void> {
    this.#polling ??= this.#pass().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  use<R>(name: string, fn: (value: Uint8Array, version: string) => R): R {
    const current = this.#slot(name).current;
    if (current === undefined) throw new ServiceError('ERR_NOT_READY', `secret ${name} is not loaded`);
    return fn(current.value, current.version);
  }

  useEach<R>(name: string, fn: (value: Uint8Array, version: string) => R): R[] {
    return this.#live(name).map((v) => fn(v.value, v.version));
  }

  versions(name: string): string[] {
    return this.#live(name).map((v) => v.version);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling?.catch(() => undefined);
    for (const slot of this.#slots.values()) {
      for (const v of [slot.current, ...slot.previous]) v?.value.fill(0);
      slot.current = undefined;
      slot.previous = [];
    }
    this.#options.source.destroy();
  }

  #slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (slot === undefined) throw new ServiceError('ERR_SECRET_UNKNOWN', 'secrets: no such secret in the enclave configuration');
    return slot;
  }

  #live(name: string): Version[] {
    const slot = this.#slot(name);
    this.#retire(slot);
    if (slot.current === undefined) throw new ServiceError('ERR_NOT_READY', `secret ${name} is not loaded`);
    return [slot.current, ...slot.previous];
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.poll().then(() => {
        // Until every secret is loaded, retry sooner (with backoff) than the poll interval.
        const interval = this.#options.pollIntervalMs;
        const next = this.loaded() ? interval : Math.min(this.#retryMs, interval);
        if (!this.loaded()) this.#retryMs = Math.min(this.#retryMs * 2, interval);
        this.#schedule(next);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    let firstFailure: string | undefined;
    for (const slot of this.#slots.values()) {
      if (this.#closed) return;
      try {
        await this.#refresh(slot);
      } catch (error) {
        const code = error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL';
        this.#stats.failures += 1;
        firstFailure ??= `secret ${slot.item.name} failed to load (${code})`;
        this.#options.log?.(slot.current === undefined ? 'secret-load-failed' : 'secret-poll-failed', { name: slot.item.name, store: slot.item.store, code }, slot.current === undefined ? 'error' : 'warn');
      }
      this.#retire(slot);
    }
    this.#lastFailure = firstFailure;
  }

  async #refresh(slot: Slot): Promise<void> {
    const stored = await this.#options.source.read(slot.item);
    const current = slot.current;
    // SSM numbers versions 1, 2, ... (GetParameter: Version); a lower one than loaded is a rollback.
    if (slot.item.store === 'ssm' && current !== undefined && Number(stored.version) < Number(current.version)) {
      throw new ServiceError('ERR_SECRET_UNAVAILABLE', 'GetParameter answered a lower Version than the one loaded (rollback refused)');
    }
    if (current?.version === stored.version) {
      slot.lastReadAt = this.#now();
      return;
    }
    const value = await this.#options.open(slot.item, stored.value);
    if (this.#closed) {
      value.fill(0);
      return;
    }
    const replaced = slot.current;
    slot.current = { version: stored.version, value };
    slot.lastReadAt = this.#now();
    this.#stats.loads += 1;
    if (replaced === undefined) {
      this.#options.log?.('secret-loaded', { name: slot.item.name, store: slot.item.store, version: stored.version });
      return;
    }
    replaced.replacedAt = this.#now();
    slot.previous.unshift(replaced);
    this.#stats.rotations += 1;
    this.#options.log?.('secret-rotated', { name: slot.item.name, store: slot.item.store, version: stored.version, previousVersion: replaced.version });
    while (slot.previous.length > MAX_PREVIOUS_VERSIONS) this.#retireOne(slot, slot.previous.pop()!);
  }

  #retire(slot: Slot): void {
    const now = this.#now();
    const keep: Version[] = [];
    for (const v of slot.previous) {
      if (now - (v.replacedAt ?? now) < this.#options.retireAfterMs) {
        keep.push(v);
        continue;
      }
      this.#retireOne(slot, v);
    }
    slot.previous = keep;
  }

  #retireOne(slot: Slot, v: Version): void {
    v.value.fill(0);
    this.#stats.retirements += 1;
    this.#options.log?.('secret-retired', { name: slot.item.name, store: slot.item.store, version: v.version });
  }
}

/** An enclave without a `secrets` section: every name is unknown. */
export function noSecrets(): SealedSecrets {
  return new SealedSecrets({
    items: [],
    source: { read: () => Promise.reject(new ServiceError('ERR_SECRET_UNKNOWN', 'no secrets configured')), destroy: () => undefined },
    open: () => Promise.reject(new ServiceError('ERR_SECRET_UNKNOWN', 'no secrets configured')),
    pollIntervalMs: 60_000,
    retireAfterMs: 0,
  });
}
