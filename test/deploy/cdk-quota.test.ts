/** The fleet's KMS budget arithmetic (bench/lib/kms-quota.ts), on cases worked by hand. */
import { describe, expect, it } from 'vitest';
import { hostsBootingAtOnce, KMS_QUOTAS, planFleetKms } from '../../bench/lib/kms-quota.js';

const base = { bootCallsPerEnclave: 2, enclavesPerHost: 1, hosts: 4, recordsPerHour: 3600, recordsPerDataKey: 1, callsPerDataKey: 1, dataKeyLifetimeMs: 0, cacheMaxAgeMs: 300_000, restartsPerHostPerHour: 0 };

describe('planFleetKms', () => {
  it('one data key per record: one call per record, whichever host gets it', () => {
    const plan = planFleetKms(base);
    expect(plan.enclavesPerDataKey).toBe(1);
    expect(plan.fleetCallsPerHour).toBe(3600);
    expect(plan.callsPerHostPerHour).toBe(900);
    expect(plan.fleetCallsPerSecond).toBe(1);
  });

  it('a data key shared by many records is decrypted once by every enclave it reaches', () => {
    // 1000 records per key over 4 enclaves: all 4 see it (4 × (1 − 0.75^1000) = 4 to double precision).
    const plan = planFleetKms({ ...base, recordsPerDataKey: 1000, recordsPerHour: 3_600_000 });
    expect(plan.enclavesPerDataKey).toBeCloseTo(4, 9);
    expect(plan.fleetCallsPerHour).toBeCloseTo(3600 * 4, 6);
    // Two records per key over 4 enclaves: 4 × (1 − 0.75²) = 1.75 enclaves on average.
    expect(planFleetKms({ ...base, recordsPerDataKey: 2 }).enclavesPerDataKey).toBeCloseTo(1.75, 12);
  });

  it('counts a data key again for every cache lifetime it stays in use', () => {
    // Kept by producers for an hour, cached 5 minutes: decrypted 12 times by the one enclave (1 host).
    const plan = planFleetKms({ ...base, hosts: 1, recordsPerHour: 1_000, recordsPerDataKey: 1_000, dataKeyLifetimeMs: 3_600_000 });
    expect(plan.fleetCallsPerHour).toBeCloseTo(12, 9);
    expect(planFleetKms({ ...base, hosts: 1, recordsPerHour: 1_000, recordsPerDataKey: 1_000, dataKeyLifetimeMs: 299_999 }).fleetCallsPerHour).toBeCloseTo(1, 9);
  });

  it('counts planned restarts as boots: hosts × enclaves × boot calls per restart', () => {
    const plan = planFleetKms({ ...base, recordsPerHour: 0, enclavesPerHost: 4, restartsPerHostPerHour: 0.5 });
    expect(plan.bootCallsPerHost).toBe(8);
    expect(plan.fleetCallsPerHour).toBe(4 * 0.5 * 8);
  });

  it('refuses inputs that make no fleet', () => {
    expect(() => planFleetKms({ ...base, hosts: 0 })).toThrow(RangeError);
    expect(() => planFleetKms({ ...base, recordsPerHour: -1 })).toThrow(/recordsPerHour/);
  });
});

describe('hostsBootingAtOnce', () => {
  it('is what is left of the share of the quota after steady traffic, per host boot', () => {
    // Half of 5,500/s is 2,750; 750/s of traffic leaves 2,000; 8 calls per host boot: 250 hosts.
    expect(hostsBootingAtOnce({ quotaPerSecond: KMS_QUOTAS.symmetric, share: 0.5, steadyCallsPerSecond: 750, bootCallsPerHost: 8 })).toBe(250);
    expect(hostsBootingAtOnce({ quotaPerSecond: KMS_QUOTAS.rsa, share: 1, steadyCallsPerSecond: 0, bootCallsPerHost: 3 })).toBe(166);
    // Traffic above the share leaves none: boot nothing until it drops.
    expect(hostsBootingAtOnce({ quotaPerSecond: KMS_QUOTAS.ecc, share: 0.5, steadyCallsPerSecond: 200, bootCallsPerHost: 2 })).toBe(0);
    expect(() => hostsBootingAtOnce({ quotaPerSecond: 100, share: 0, steadyCallsPerSecond: 0, bootCallsPerHost: 2 })).toThrow(RangeError);
  });
});
