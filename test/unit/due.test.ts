import { describe, expect, it } from 'vitest';
import type { Authority, CertificateRecord, Device, Settings } from '../../src/model/types.ts';
import { buildPlan } from '../../src/plan/build-plan.ts';
import { dueStatus, isoInstant, renewRule } from '../../src/plan/due.ts';
import { DAY } from '../../src/util/duration.ts';

const NOW = new Date('2026-11-23T00:00:00Z');
const at = (offset: number) => new Date(NOW.getTime() + offset).toISOString();

function device(name: string, certificate?: CertificateRecord): Device {
  return {
    system_name: name,
    common_name: `${name}.example.com`,
    host_platform: 'panos',
    os_version: '10.2.4',
    data_center: 'dc1',
    certificate_authority: 'lets_encrypt',
    ...(certificate ? { certificate } : {}),
  };
}

function authority(extra: Partial<Authority> = {}): Authority {
  return { directory: 'https://acme.example/dir', account_key_secret: 'ACME_KEY', ...extra };
}

/** A 90-day certificate with 40 days left at NOW and the given ARI window. */
function withWindow(start: string, end: string): CertificateRecord {
  return { not_before: at(-50 * DAY), not_after: at(40 * DAY), renewal_window: { start, end } };
}

describe('dueStatus: renewal windows', () => {
  const le = authority();

  it('a renewal window with one unreadable end is reported unreadable and ranked as urgent as now', () => {
    for (const window of [withWindow(at(DAY), 'soon'), withWindow('soon', at(DAY))]) {
      expect(dueStatus(device('a', window), le, NOW, false)).toEqual({
        due: true,
        reason: 'certificate dates unreadable (renewal_window)',
        urgency: NOW.getTime(),
      });
    }
  });

  it('the ARI window is honoured when the device names no configured authority', () => {
    expect(dueStatus(device('a', withWindow(at(-DAY), at(DAY))), undefined, NOW, false)).toEqual({
      due: true,
      reason: 'inside the ARI renewal window (2026-11-22T00:00:00Z to 2026-11-24T00:00:00Z)',
      urgency: NOW.getTime() + 40 * DAY,
      renew_at: '2026-11-22T00:00:00Z',
    });
    expect(dueStatus(device('a', withWindow(at(2 * DAY), at(3 * DAY))), undefined, NOW, false)).toMatchObject(
      {
        due: false,
        next_check_at: '2026-11-25T00:00:00Z',
      },
    );
  });

  it('the very instant the window ends counts as past its end', () => {
    expect(dueStatus(device('a', withWindow(at(-DAY), at(0))), le, NOW, false)).toEqual({
      due: true,
      reason: 'past the ARI renewal window end (2026-11-23T00:00:00Z)',
      urgency: NOW.getTime() + 40 * DAY,
      renew_at: '2026-11-22T00:00:00Z',
    });
  });

  it('the very instant the window starts counts as inside it', () => {
    expect(dueStatus(device('a', withWindow(at(0), at(DAY))), le, NOW, false)).toEqual({
      due: true,
      reason: 'inside the ARI renewal window (2026-11-23T00:00:00Z to 2026-11-24T00:00:00Z)',
      urgency: NOW.getTime() + 40 * DAY,
      renew_at: '2026-11-23T00:00:00Z',
    });
  });
});

describe('dueStatus: lifetimes that cannot be measured', () => {
  const le = authority();

  it('a not_before equal to not_after (zero lifetime) is unreadable, not a division into a due date', () => {
    const zero = { not_before: at(10 * DAY), not_after: at(10 * DAY) };
    expect(dueStatus(device('a', zero), le, NOW, false)).toEqual({
      due: true,
      reason: 'certificate dates unreadable (not_before is not before not_after)',
      urgency: NOW.getTime(),
    });
    const inverted = { not_before: at(11 * DAY), not_after: at(10 * DAY) };
    expect(dueStatus(device('a', inverted), le, NOW, false).reason).toBe(
      'certificate dates unreadable (not_before is not before not_after)',
    );
  });

  it('a rotated_at at or after not_after is unreadable and names rotated_at', () => {
    for (const rotated of [at(10 * DAY), at(12 * DAY)]) {
      expect(
        dueStatus(device('a', { not_after: at(10 * DAY), rotated_at: rotated }), le, NOW, false),
      ).toEqual({
        due: true,
        reason: 'certificate dates unreadable (rotated_at is not before not_after)',
        urgency: NOW.getTime(),
      });
    }
    expect(
      dueStatus(device('a', { not_after: at(10 * DAY), rotated_at: 'yesterday' }), le, NOW, false),
    ).toEqual({ due: true, reason: 'certificate dates unreadable (rotated_at)', urgency: NOW.getTime() });
  });

  it('devices with unreadable dates are planned before devices that are merely due soon', () => {
    const settings: Settings = {
      authorities: { lets_encrypt: authority() },
      dns: { provider: 'route53', delegate_zone: 'acme.example.net', hosted_zone_id: 'Z1' },
      runners: { by_data_center: { dc1: ['self-hosted', 'ottr'] } },
      secrets: {},
    };
    const devices = [
      device('a-soon', { not_before: at(-85 * DAY), not_after: at(5 * DAY) }),
      device('b-window', withWindow(at(DAY), 'soon')),
      device('c-zero', { not_before: at(30 * DAY), not_after: at(30 * DAY) }),
      device('d-expired', { not_before: at(-91 * DAY), not_after: at(-DAY) }),
    ];
    const plan = buildPlan({
      candidates: devices.map((d) => ({
        device: d,
        file: `inventory/dc1/${d.system_name}.yaml`,
        route: { name: 'panos-10', platform: 'panos' },
      })),
      excluded: [],
      settings,
      now: NOW,
    });
    expect(plan.due.map((d) => d.system_name)).toEqual(['d-expired', 'b-window', 'c-zero', 'a-soon']);
  });
});

describe('isoInstant', () => {
  it('drops zero milliseconds and keeps the others', () => {
    expect(isoInstant(NOW.getTime())).toBe('2026-11-23T00:00:00Z');
    expect(isoInstant(NOW.getTime() + 123)).toBe('2026-11-23T00:00:00.123Z');
    expect(isoInstant(NOW.getTime() + 1)).toBe('2026-11-23T00:00:00.001Z');
  });

  it('an ARI window start with milliseconds is reported to the millisecond', () => {
    const start = new Date(NOW.getTime() + 2 * DAY + 500).toISOString();
    expect(dueStatus(device('a', withWindow(start, at(3 * DAY))), authority(), NOW, false)).toMatchObject({
      due: false,
      next_check_at: '2026-11-25T00:00:00.500Z',
    });
  });
});

describe('renewRule', () => {
  it('parses renew_before once per authority object (settings do not change during a plan)', () => {
    const thirty = authority({ renew_before: '30d' });
    const rule = renewRule(thirty);
    expect(rule).toMatchObject({ kind: 'duration', ms: 30 * DAY, label: '30d' });
    expect(renewRule(thirty)).toBe(rule);
    const half = authority({ renew_before: '1/2' });
    expect(renewRule(half)).toMatchObject({ kind: 'fraction', fraction: 0.5, label: '1/2' });
    expect(renewRule(half)).toBe(renewRule(half));
  });

  it('an invalid or absent renew_before, or no authority, means 1/3', () => {
    for (const a of [authority({ renew_before: 'soonish' }), authority(), undefined])
      expect(renewRule(a)).toMatchObject({ kind: 'fraction', label: '1/3' });
  });
});
