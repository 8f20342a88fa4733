import { describe, expect, it } from 'vitest';
import { BootReport, MAX_UNDELIVERED_EVENTS } from '../../enclave/boot-report.js';
import { ServiceError } from '../../shared/errors.js';

describe('BootReport', () => {
  it('keeps at most MAX_UNDELIVERED_EVENTS events, dropping the oldest and counting them', () => {
    const report = new BootReport();
    for (let i = 0; i < MAX_UNDELIVERED_EVENTS + 2; i++) report.hold({ event: `e${i}`, level: 'info', fields: {} });
    const held = report.takeHeld();
    expect(held).toHaveLength(MAX_UNDELIVERED_EVENTS);
    expect(held[0]!.event).toBe('e2');
    expect(report.dropped).toBe(2);
    expect(report.takeHeld()).toEqual([]);
  });

  it('reports an EnclaveKitError by code and message, anything else without its text', () => {
    const report = new BootReport();
    expect(report.summary()).toEqual({ outcome: 'booting' });
    report.fail(new ServiceError('ERR_NSM_UNAVAILABLE', 'NSM transport failed'));
    expect(report.reason()).toBe('boot failed: ERR_NSM_UNAVAILABLE: NSM transport failed');
    const other = new BootReport();
    other.fail(new Error('secret 4111111111111111'));
    expect(other.summary().code).toBe('ERR_INTERNAL');
    expect(JSON.stringify(other.summary())).not.toContain('4111');
  });
});
