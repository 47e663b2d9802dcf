import { describe, expect, it } from 'vitest';
import type { Authority, CertificateRecord, Device, Settings } from '../../src/model/types.ts';
import { buildPlan, type PlanCandidate, type PlanExclusion } from '../../src/plan/build-plan.ts';
import { dueStatus } from '../../src/plan/due.ts';
import { markdownCell, mermaidName, planSummaryMarkdown, planText } from '../../src/plan/plan-summary.ts';
import { DAY, HOUR } from '../../src/util/duration.ts';

const NOW = new Date('2026-11-23T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const at = (offset: number) => iso(NOW.getTime() + offset);

function device(name: string, extra: Partial<Device> = {}): Device {
  return {
    system_name: name,
    common_name: `${name}.example.com`,
    host_platform: 'panos',
    os_version: '10.2.4',
    data_center: 'dc1',
    certificate_authority: 'lets_encrypt',
    ...extra,
  };
}

/** A certificate of `lifetime` that has `left` remaining at NOW. */
function cert(lifetime: number, left: number, extra: Partial<CertificateRecord> = {}): CertificateRecord {
  return { not_before: at(left - lifetime), not_after: at(left), ...extra };
}

function authority(extra: Partial<Authority> = {}): Authority {
  return { directory: 'https://acme.example/dir', account_key_secret: 'ACME_KEY', ...extra };
}

function settings(extra: Partial<Settings> = {}, auth: Partial<Authority> = {}): Settings {
  return {
    authorities: { lets_encrypt: authority(auth) },
    dns: { provider: 'route53', delegate_zone: 'acme.example.net', hosted_zone_id: 'Z1' },
    runners: { by_data_center: { dc1: ['self-hosted', 'ottr'], dc2: ['self-hosted', 'ottr', 'dc2'] } },
    secrets: {},
    ...extra,
  };
}

function candidate(d: Device): PlanCandidate {
  return {
    device: d,
    file: `inventory/${d.data_center}/${d.system_name}.yaml`,
    route: { name: 'panos-10', platform: 'panos' },
  };
}

describe('dueStatus', () => {
  const le = authority();

  it('force', () => {
    const s = dueStatus(device('a', { certificate: cert(90 * DAY, 80 * DAY) }), le, NOW, true);
    expect(s).toMatchObject({ due: true, reason: 'forced (manual run)', urgency: NOW.getTime() + 80 * DAY });
  });

  it('never rotated', () => {
    expect(dueStatus(device('a'), le, NOW, false)).toEqual({
      due: true,
      reason: 'never rotated (no certificate recorded)',
      urgency: NOW.getTime(),
    });
  });

  it('expired', () => {
    const s = dueStatus(device('a', { certificate: cert(90 * DAY, -3 * DAY) }), le, NOW, false);
    expect(s).toEqual({
      due: true,
      reason: 'expired 3d ago (2026-11-20T00:00:00Z)',
      urgency: NOW.getTime() - 3 * DAY,
    });
  });

  it('fraction: due and not due with concrete numbers', () => {
    const due = dueStatus(device('a', { certificate: cert(90 * DAY, 29 * DAY) }), le, NOW, false);
    expect(due).toMatchObject({
      due: true,
      reason: '29d left of 90d lifetime (renews at 1/3 = 30d)',
      renew_at: '2026-11-22T00:00:00Z',
    });
    const notDue = dueStatus(device('a', { certificate: cert(90 * DAY, 31 * DAY) }), le, NOW, false);
    expect(notDue).toEqual({
      due: false,
      reason: '31d left of 90d lifetime (renews at 1/3 = 30d, on 2026-11-24T00:00:00Z)',
      next_check_at: '2026-11-24T00:00:00Z',
      renew_at: '2026-11-24T00:00:00Z',
    });
  });

  it('no hard-coded lifetime: 160 h and 397 d certificates renew at their own 1/3', () => {
    const short = 160 * HOUR; // Let's Encrypt "shortlived"
    expect(dueStatus(device('s', { certificate: cert(short, 54 * HOUR) }), le, NOW, false).due).toBe(false);
    const s = dueStatus(device('s', { certificate: cert(short, 53 * HOUR) }), le, NOW, false);
    expect(s).toMatchObject({ due: true, reason: '2d 5h left of 6d 16h lifetime (renews at 1/3 = 2d 5h)' });

    const long = 397 * DAY;
    // 1/3 of 397 d = 132 d 8 h
    expect(dueStatus(device('l', { certificate: cert(long, 133 * DAY) }), le, NOW, false).due).toBe(false);
    expect(
      dueStatus(device('l', { certificate: cert(long, 132 * DAY + 9 * HOUR) }), le, NOW, false).due,
    ).toBe(false);
    const l = dueStatus(device('l', { certificate: cert(long, 132 * DAY + 7 * HOUR) }), le, NOW, false);
    expect(l).toMatchObject({ due: true, reason: '132d 7h left of 397d lifetime (renews at 1/3 = 132d 8h)' });
    // A 90-day certificate with 60 days left is not due (nothing like "30 days" is assumed)...
    expect(dueStatus(device('n', { certificate: cert(90 * DAY, 60 * DAY) }), le, NOW, false).due).toBe(false);
    // ...but a 45-day one with 14 days left is (1/3 = 15 d).
    expect(dueStatus(device('n', { certificate: cert(45 * DAY, 14 * DAY) }), le, NOW, false).due).toBe(true);
  });

  it('other fractions', () => {
    const half = authority({ renew_before: '1/2' });
    expect(dueStatus(device('a', { certificate: cert(90 * DAY, 44 * DAY) }), half, NOW, false)).toMatchObject(
      {
        due: true,
        reason: '44d left of 90d lifetime (renews at 1/2 = 45d)',
      },
    );
    const quarter = authority({ renew_before: 0.25 });
    expect(dueStatus(device('a', { certificate: cert(100 * DAY, 26 * DAY) }), quarter, NOW, false).due).toBe(
      false,
    );
    expect(
      dueStatus(device('a', { certificate: cert(100 * DAY, 24 * DAY) }), quarter, NOW, false),
    ).toMatchObject({
      due: true,
      reason: '24d left of 100d lifetime (renews at 1/4 = 25d)',
    });
  });

  it('duration renew_before ignores the lifetime', () => {
    const a = authority({ renew_before: '30d' });
    expect(dueStatus(device('a', { certificate: { not_after: at(29 * DAY) } }), a, NOW, false)).toMatchObject(
      {
        due: true,
        reason: '29d left (renews at 30d before expiry)',
        renew_at: '2026-11-22T00:00:00Z',
      },
    );
    expect(dueStatus(device('a', { certificate: { not_after: at(31 * DAY) } }), a, NOW, false)).toMatchObject(
      {
        due: false,
        reason: '31d left (renews at 30d before expiry, on 2026-11-24T00:00:00Z)',
        next_check_at: '2026-11-24T00:00:00Z',
      },
    );
  });

  it('lifetime from rotated_at when not_before is missing; unknown when both are', () => {
    const fromRotated = dueStatus(
      device('a', { certificate: { not_after: at(20 * DAY), rotated_at: at(-40 * DAY) } }),
      le,
      NOW,
      false,
    );
    expect(fromRotated).toMatchObject({ due: true });
    expect(fromRotated.reason).toBe(
      '20d left of 60d lifetime, counted from rotated_at (renews at 1/3 = 20d)',
    );
    expect(dueStatus(device('a', { certificate: { not_after: at(50 * DAY) } }), le, NOW, false)).toEqual({
      due: true,
      reason: 'lifetime unknown (no not_before recorded); rotating records it',
      urgency: NOW.getTime(),
    });
  });

  it('ARI window', () => {
    const window = (start: number, end: number) =>
      device('a', {
        certificate: cert(90 * DAY, 40 * DAY, { renewal_window: { start: at(start), end: at(end) } }),
      });
    expect(dueStatus(window(2 * DAY, 4 * DAY), le, NOW, false)).toEqual({
      due: false,
      reason: 'ARI window starts 2026-11-25T00:00:00Z (in 2d)',
      next_check_at: '2026-11-25T00:00:00Z',
      renew_at: '2026-11-25T00:00:00Z',
    });
    expect(dueStatus(window(-1 * DAY, 1 * DAY), le, NOW, false)).toMatchObject({
      due: true,
      reason: 'inside the ARI renewal window (2026-11-22T00:00:00Z to 2026-11-24T00:00:00Z)',
      urgency: NOW.getTime() + 40 * DAY,
    });
    expect(dueStatus(window(-3 * DAY, -1 * DAY), le, NOW, false)).toMatchObject({
      due: true,
      reason: 'past the ARI renewal window end (2026-11-22T00:00:00Z)',
    });
    // ARI overrides renew_before in both directions: this one would be due by 1/3 but its window is later.
    const late = device('b', {
      certificate: cert(90 * DAY, 10 * DAY, { renewal_window: { start: at(5 * DAY), end: at(6 * DAY) } }),
    });
    expect(dueStatus(late, le, NOW, false).due).toBe(false);
  });

  it('expired is due even with an ARI renewal window still in the future', () => {
    // A stale or wrong window must never keep an expired certificate in service.
    const expired = device('a', {
      certificate: cert(90 * DAY, -3 * DAY, {
        renewal_window: { start: at(5 * DAY), end: at(7 * DAY) },
      }),
    });
    expect(dueStatus(expired, le, NOW, false)).toEqual({
      due: true,
      reason: 'expired 3d ago (2026-11-20T00:00:00Z)',
      urgency: NOW.getTime() - 3 * DAY,
    });
    // Expiring this very instant counts as expired too.
    const now = device('b', {
      certificate: cert(90 * DAY, 0, { renewal_window: { start: at(1 * DAY), end: at(2 * DAY) } }),
    });
    expect(dueStatus(now, le, NOW, false)).toMatchObject({
      due: true,
      reason: expect.stringMatching(/^expired/),
    });
    // And under a duration renew_before, and with ARI disabled.
    for (const auth of [authority({ renew_before: '1d' }), authority({ ari: false })])
      expect(dueStatus(expired, auth, NOW, false)).toMatchObject({
        due: true,
        urgency: NOW.getTime() - 3 * DAY,
      });
  });

  it('ARI disabled falls back to renew_before', () => {
    const d = device('a', {
      certificate: cert(90 * DAY, 40 * DAY, { renewal_window: { start: at(-1 * DAY), end: at(1 * DAY) } }),
    });
    expect(dueStatus(d, authority({ ari: false }), NOW, false)).toMatchObject({
      due: false,
      reason: expect.stringMatching(/^40d left of 90d lifetime/),
    });
  });

  it('unreadable dates do not crash', () => {
    expect(dueStatus(device('a', { certificate: { not_after: 'garbage' } }), le, NOW, false)).toEqual({
      due: true,
      reason: 'certificate dates unreadable (not_after)',
      urgency: NOW.getTime(),
    });
    const badStart = { not_after: at(DAY), not_before: 'nope' };
    expect(dueStatus(device('a', { certificate: badStart }), le, NOW, false)).toMatchObject({
      due: true,
      reason: 'certificate dates unreadable (not_before)',
    });
    const badWindow = cert(90 * DAY, 40 * DAY, { renewal_window: { start: 'x', end: 'y' } });
    expect(dueStatus(device('a', { certificate: badWindow }), le, NOW, false)).toMatchObject({ due: true });
    const inverted = { not_after: at(DAY), not_before: at(2 * DAY) };
    expect(dueStatus(device('a', { certificate: inverted }), le, NOW, false).due).toBe(true);
  });

  it('unknown authority uses the default 1/3', () => {
    expect(dueStatus(device('a', { certificate: cert(90 * DAY, 29 * DAY) }), undefined, NOW, false).due).toBe(
      true,
    );
  });
});

describe('buildPlan', () => {
  const devices = [
    device('later', { certificate: cert(90 * DAY, 10 * DAY) }),
    device('never'),
    device('expired', { certificate: cert(90 * DAY, -2 * DAY) }),
    device('fine', { certificate: cert(90 * DAY, 60 * DAY) }),
    device('soon', { certificate: cert(90 * DAY, 5 * DAY), data_center: 'dc2' }),
    device('also-never'),
  ];
  const excluded: PlanExclusion[] = [
    {
      system_name: 'broken',
      file: 'inventory/dc1/broken.yaml',
      kind: 'invalid',
      reason: 'common_name: is empty',
    },
    {
      system_name: 'orphan',
      file: 'inventory/dc1/orphan.yaml',
      kind: 'no_route',
      reason: 'no routing rule matches',
    },
  ];

  it('orders due devices by urgency: expired < never rotated < expiring later; ties by name', () => {
    const plan = buildPlan({ candidates: devices.map(candidate), excluded, settings: settings(), now: NOW });
    expect(plan.due.map((d) => d.system_name)).toEqual(['expired', 'also-never', 'never', 'soon', 'later']);
    expect(plan.skipped.map((s) => [s.system_name, s.kind])).toEqual([
      ['broken', 'invalid'],
      ['fine', 'not_due'],
      ['orphan', 'no_route'],
    ]);
    expect(plan.skipped[1]!.renew_at).toBe('2026-12-23T00:00:00Z');
    expect(plan.counts).toEqual({ devices: 8, due: 5, deferred: 0, skipped: 3, not_selected: 0, jobs: 5 });
    expect(Object.keys(plan)).toEqual([
      'version',
      'now',
      'due',
      'deferred',
      'skipped',
      'matrix',
      'max_parallel',
      'counts',
      'errors',
    ]);
    expect(plan.now).toBe('2026-11-23T00:00:00Z');
    expect(plan.max_parallel).toBe(20);
    expect(plan.errors).toEqual([]);
    expect(plan.due[0]).toEqual({
      system_name: 'expired',
      file: 'inventory/dc1/expired.yaml',
      data_center: 'dc1',
      authority: 'lets_encrypt',
      route: 'panos-10',
      platform: 'panos',
      reason: 'expired 2d ago (2026-11-21T00:00:00Z)',
      not_after: iso(NOW.getTime() - 2 * DAY),
    });
    expect(plan.due.find((d) => d.system_name === 'never')).not.toHaveProperty('not_after');
    expect(plan.matrix.include[0]).toEqual({
      id: 'expired',
      devices: ['expired'],
      data_center: 'dc1',
      runs_on: ['self-hosted', 'ottr'],
      environment: 'pki-dc1',
      secrets: ['ACME_KEY'],
    });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('only restricts the plan and suggests close names', () => {
    const plan = buildPlan({
      candidates: devices.map(candidate),
      excluded,
      settings: settings({ limits: { max_parallel: 3 } }),
      now: NOW,
      only: ['fine', 'soon', 'broken', 'lator', 'zzzzzzzzzzzz'],
    });
    expect(plan.due.map((d) => d.system_name)).toEqual(['soon']);
    expect(plan.skipped.map((s) => s.system_name)).toEqual(['broken', 'fine']);
    expect(plan.counts.not_selected).toBe(5);
    expect(plan.max_parallel).toBe(3);
    expect(plan.errors).toEqual([
      'device "lator" is not in the inventory; did you mean "later"?',
      'device "zzzzzzzzzzzz" is not in the inventory',
    ]);
  });

  it('force with only forces just those; force alone forces all', () => {
    const some = buildPlan({
      candidates: devices.map(candidate),
      excluded,
      settings: settings(),
      now: NOW,
      force: true,
      only: ['fine'],
    });
    expect(some.due).toMatchObject([{ system_name: 'fine', reason: 'forced (manual run)' }]);
    const all = buildPlan({
      candidates: devices.map(candidate),
      excluded,
      settings: settings(),
      now: NOW,
      force: true,
    });
    expect(all.counts.due).toBe(6);
    expect(all.skipped.map((s) => s.kind)).toEqual(['invalid', 'no_route']);
  });

  it('force is still subject to budgets', () => {
    const plan = buildPlan({
      candidates: devices.map(candidate),
      excluded: [],
      settings: settings({}, { rate_limits: { orders_per_3h: 2 } }),
      now: NOW,
      force: true,
    });
    expect(plan.due.map((d) => d.system_name)).toEqual(['expired', 'also-never']);
    expect(plan.deferred).toHaveLength(4);
    expect(plan.deferred[0]).toEqual({
      system_name: 'never',
      file: 'inventory/dc1/never.yaml',
      reason: 'orders_per_3h at lets_encrypt exhausted (2 of 2 planned in this run)',
    });
    expect(plan.counts.jobs).toBe(2);
  });

  it('empty inventory', () => {
    const plan = buildPlan({ candidates: [], excluded: [], settings: settings(), now: NOW });
    expect(plan.matrix.include).toEqual([]);
    expect(plan.counts.jobs).toBe(0);
  });

  it('100,000 devices: linear work', () => {
    const many: PlanCandidate[] = [];
    for (let i = 0; i < 100_000; i++) {
      const left = ((i * 7919) % 90) * DAY - 5 * DAY;
      many.push(
        candidate(
          device(`device-${String(i).padStart(6, '0')}`, {
            data_center: `dc${i % 7}`,
            subject_alternative_names: [`alt-${i}.example.co.uk`],
            certificate: cert(90 * DAY, left, { rotated_at: at(left - 90 * DAY) }),
          }),
        ),
      );
    }
    const s = settings({}, { rate_limits: { orders_per_3h: 300, certificates_per_domain_per_week: 50 } });
    const plan = buildPlan({ candidates: many, excluded: [], settings: s, now: NOW });
    expect(plan.counts.devices).toBe(100_000);
    expect(plan.counts.due).toBeLessThanOrEqual(50);
    expect(plan.counts.due + plan.counts.deferred + plan.counts.skipped).toBe(100_000);
    const unlimited = buildPlan({ candidates: many, excluded: [], settings: settings(), now: NOW });
    expect(unlimited.counts.jobs).toBe(256);
    expect(unlimited.shards).toBeDefined();
    // Speed is measured by `npm run bench:plan`, not asserted here.
  });
});

describe('summary', () => {
  const devices = [
    device('fw:01#x;y', { certificate: cert(90 * DAY, 5 * DAY) }),
    device('lb-01', { certificate: cert(90 * DAY, 50 * DAY), data_center: 'dc2' }),
    device('never'),
    device('title', { certificate: cert(90 * DAY, -1 * DAY) }),
  ];
  const plan = buildPlan({
    candidates: devices.map(candidate),
    excluded: [
      { system_name: 'bad', file: 'inventory/dc1/bad.yaml', kind: 'invalid', reason: 'a | b <script>' },
    ],
    settings: settings(),
    now: NOW,
  });

  it('markdown: headline, tables and a gantt with escaped names', () => {
    const md = planSummaryMarkdown(plan, devices);
    expect(md).toContain('3 due, 0 deferred, 1 not due, 1 invalid, 0 without route (of 5 devices)');
    expect(md).toContain('| Device | Data center | Platform | Route | Expires | Reason |');
    expect(md).toContain('a \\| b &lt;script&gt;');
    expect(md).toContain('```mermaid\ngantt\n');
    expect(md).toContain('dateFormat YYYY-MM-DD');
    expect(md).toContain('section dc1');
    expect(md).toContain('section dc2');
    // Bars run from renew-at (or not_before) to not_after; due devices are `crit`.
    expect(md).toContain('fw_01_x_y:crit, 2026-10-29, 2026-11-28');
    expect(md).toContain('_title:crit, 2026-08-24, 2026-11-22');
    expect(md).toMatch(/lb-01:2026-12-\d\d, 2027-01-12/);
    const gantt = md.slice(md.indexOf('```mermaid'));
    expect(gantt).not.toMatch(/fw:01|#x|x;y/);
    expect(gantt).not.toContain('never');
  });

  it('collapses and caps long tables', () => {
    const many = Array.from({ length: 30 }, (_, i) => device(`d${String(i).padStart(2, '0')}`));
    const p = buildPlan({ candidates: many.map(candidate), excluded: [], settings: settings(), now: NOW });
    const md = planSummaryMarkdown(p, many, { maxRows: 10 });
    expect(md).toContain('<details>');
    expect(md).toContain('… and 20 more');
    expect(md).not.toContain('```mermaid');
  });

  it('gantt limited to the soonest devices', () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      device(`d${i}`, { certificate: cert(90 * DAY, (i + 1) * DAY) }),
    );
    const p = buildPlan({ candidates: many.map(candidate), excluded: [], settings: settings(), now: NOW });
    const md = planSummaryMarkdown(p, many);
    expect(md).toContain('soonest 40');
    expect(md).toContain('    d39:');
    expect(md).not.toContain('    d40:');
  });

  it('helpers', () => {
    expect(markdownCell('a|b\nc*d_')).toBe('a\\|b c\\*d\\_');
    expect(mermaidName('a:b#c;d')).toBe('a_b_c_d');
    expect(mermaidName('section-a')).toBe('_section-a');
  });

  it('text output', () => {
    const text = planText(plan);
    expect(text).toContain('Due (3):');
    expect(text).toMatch(/ {2}DEVICE +DATA CENTER +PLATFORM +ROUTE +EXPIRES +REASON/);
    expect(text).toContain('Skipped, invalid or without route (1):');
    expect(text).not.toContain('lb-01');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '3 due, 0 deferred, 1 not due, 1 invalid, 0 without route (of 5 devices); 3 jobs (pki-dc1: 3), at most 20 in parallel',
    );
    expect(planText(plan, { verbose: true })).toContain('lb-01');
    // Columns line up.
    const lines = text.split('\n');
    const column = lines.find((l) => l.startsWith('  DEVICE  '))!.indexOf('REASON');
    expect(lines.find((l) => l.startsWith('  title '))!.indexOf('expired 1d ago')).toBe(column);
    expect(lines.find((l) => l.startsWith('  never '))!.indexOf('never rotated')).toBe(column);
  });
});
