/**
 * KMS request budget of a fleet: how many calls a host makes when it boots and per hour of
 * traffic, and how many hosts may boot at once in a Region without KMS answering
 * ThrottlingException. Pure arithmetic; the kms-quota scenario feeds it measured call counts.
 *
 * KMS request quotas are per account and Region, per second, and shared by every caller of the
 * account (AWS KMS Developer Guide, "Request quotas"): Decrypt, Encrypt, GenerateDataKey*,
 * GenerateRandom, ReEncrypt, GenerateMac and VerifyMac on symmetric keys share one quota; RSA and
 * ECC keys have their own smaller ones. An attested Decrypt (Recipient parameter) is still a call on
 * the symmetric key, so enclavekit's card and internal keys count against the symmetric quota.
 */

/** Default quotas, requests per second, as the AWS KMS "Request quotas" page lists them. Check the applied value in Service Quotas: they are adjustable. */
export const KMS_QUOTAS = Object.freeze({
  /** Cryptographic operations (symmetric), most Regions. */
  symmetric: 5_500,
  /** The same quota in the Regions where AWS raised it (see the quotas page for which). */
  symmetricRaised: 10_000,
  symmetricLargest: 30_000,
  /** Cryptographic operations on RSA KMS keys. */
  rsa: 500,
  /** Cryptographic operations on elliptic-curve KMS keys. */
  ecc: 300,
});

export interface FleetKmsInputs {
  /** KMS calls one enclave makes from start to ready (measured by the scenario). */
  bootCallsPerEnclave: number;
  enclavesPerHost: number;
  hosts: number;
  /** Records per hour the whole fleet receives. */
  recordsPerHour: number;
  /** Records producers seal under one data key (1 without ESDK data key caching). */
  recordsPerDataKey: number;
  /** KMS calls one enclave makes per new data key it sees (measured: 1, the cache is single-flight). */
  callsPerDataKey: number;
  /** How long producers keep sealing under one data key, ms (0: one record each). */
  dataKeyLifetimeMs: number;
  /** The enclave's data-key cache maxAgeMs: a key in use longer than this is decrypted again. */
  cacheMaxAgeMs: number;
  /** Planned enclave restarts per host per hour (rolling updates, wrapped-key rotation: each re-runs the boot calls). */
  restartsPerHostPerHour: number;
}

export interface FleetKmsPlan {
  bootCallsPerHost: number;
  /** Expected enclaves that see a given data key when the load balancer spreads its records evenly. */
  enclavesPerDataKey: number;
  /** Calls per hour of traffic, per host and for the fleet (data keys and planned restarts). */
  callsPerHostPerHour: number;
  fleetCallsPerHour: number;
  /** Mean fleet rate from traffic, requests per second. */
  fleetCallsPerSecond: number;
}

export function planFleetKms(i: FleetKmsInputs): FleetKmsPlan {
  for (const [name, v] of Object.entries(i)) if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  if (i.enclavesPerHost < 1 || i.hosts < 1 || i.recordsPerDataKey < 1) throw new RangeError('enclavesPerHost, hosts and recordsPerDataKey must be >= 1');
  const enclaves = i.hosts * i.enclavesPerHost;
  const bootCallsPerHost = i.bootCallsPerEnclave * i.enclavesPerHost;
  // r records of one data key spread uniformly over n enclaves reach n(1 - (1 - 1/n)^r) of them on
  // average; each of those decrypts the data key once (while it stays in its cache).
  const enclavesPerDataKey = enclaves * (1 - (1 - 1 / enclaves) ** i.recordsPerDataKey);
  const dataKeysPerHour = i.recordsPerHour / i.recordsPerDataKey;
  // A data key used longer than the enclave caches it is decrypted once per cache lifetime.
  const loadsPerDataKey = Math.max(1, Math.ceil(i.dataKeyLifetimeMs / Math.max(1, i.cacheMaxAgeMs)));
  const trafficCalls = dataKeysPerHour * enclavesPerDataKey * i.callsPerDataKey * loadsPerDataKey;
  const restartCalls = i.hosts * i.restartsPerHostPerHour * bootCallsPerHost;
  const fleetCallsPerHour = trafficCalls + restartCalls;
  return { bootCallsPerHost, enclavesPerDataKey, callsPerHostPerHour: fleetCallsPerHour / i.hosts, fleetCallsPerHour, fleetCallsPerSecond: fleetCallsPerHour / 3600 };
}

/**
 * Hosts that may boot in the same second: what is left of `share` of the quota after the steady
 * traffic rate, divided by one host's boot calls. Conservative: a host's boot calls are taken to
 * land within one second (they do: the enclave loads its wrapped keys in parallel right after
 * attesting), and `share` keeps room for the producers' own calls and other users of the account.
 */
export function hostsBootingAtOnce(options: { quotaPerSecond: number; share: number; steadyCallsPerSecond: number; bootCallsPerHost: number }): number {
  const { quotaPerSecond, share, steadyCallsPerSecond, bootCallsPerHost } = options;
  if (!(share > 0 && share <= 1)) throw new RangeError('share must be in (0, 1]');
  if (!(bootCallsPerHost > 0)) throw new RangeError('bootCallsPerHost must be > 0');
  return Math.max(0, Math.floor((quotaPerSecond * share - steadyCallsPerSecond) / bootCallsPerHost));
}
