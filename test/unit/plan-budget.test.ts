import { describe, expect, it } from 'vitest';
import type { Authority, Device, Settings } from '../../src/model/types.ts';
import {
  applyBudgets,
  certificateDomains,
  createRunBudget,
  registeredDomain,
} from '../../src/plan/budget.ts';
import { buildPlan } from '../../src/plan/build-plan.ts';
import { DAY, HOUR } from '../../src/util/duration.ts';

const NOW = new Date('2026-11-23T00:00:00Z');
const at = (offset: number) => new Date(NOW.getTime() + offset).toISOString();

function device(name: string, cn: string, sans: string[] = [], extra: Partial<Device> = {}): Device {
  return {
    system_name: name,
    common_name: cn,
    subject_alternative_names: sans,
    host_platform: 'linux',
    os_version: '12',
    data_center: 'dc1',
    certificate_authority: 'lets_encrypt',
    ...extra,
  };
}

function settings(limits: Authority['rate_limits'], more: Record<string, Authority> = {}): Settings {
  const base: Authority = { directory: 'https://acme.example/dir', account_key_secret: 'ACME_KEY' };
  return {
    authorities: { lets_encrypt: limits ? { ...base, rate_limits: limits } : base, ...more },
    dns: { provider: 'route53', delegate_zone: 'acme.example.net', hosted_zone_id: 'Z1' },
    runners: { by_data_center: { dc1: ['self-hosted'] } },
    secrets: {},
  };
}

const names = (xs: { device: Device }[]) => xs.map((x) => x.device.system_name);
const wrap = (ds: Device[]) => ds.map((device) => ({ device }));

describe('registered domains (tldts, ICANN section of the PSL by default)', () => {
  it.each([
    ['a.example.co.uk', 'example.co.uk'],
    ['b.example.co.uk', 'example.co.uk'],
    ['*.x.example.co.uk', 'example.co.uk'],
    ['*.example.com', 'example.com'],
    ['example.com', 'example.com'],
    ['deep.a.b.example.com', 'example.com'],
    ['WWW.Example.COM.', 'example.com'],
    // tldts defaults ignore the PSL's private section: github.io sites share github.io. (Let's Encrypt uses the
    // whole list, so this counts more conservatively than the CA for private suffixes.)
    ['x.github.io', 'github.io'],
    ['y.github.io', 'github.io'],
    // No registered domain: counted against the name itself.
    ['10.0.0.1', '10.0.0.1'],
    ['localhost', 'localhost'],
    ['co.uk', 'co.uk'],
  ])('%s → %s', (name, domain) => {
    expect(registeredDomain(name)).toBe(domain);
  });

  it('a certificate counts once per distinct registered domain', () => {
    expect(
      certificateDomains(
        device('a', 'a.example.co.uk', ['a.example.co.uk', 'b.example.co.uk', '*.example.org']),
      ),
    ).toEqual(['example.co.uk', 'example.org']);
  });
});

describe('budgets', () => {
  it('no rate_limits → unlimited', () => {
    const ds = Array.from({ length: 500 }, (_, i) => device(`d${i}`, `d${i}.example.com`));
    const { admitted, deferred } = applyBudgets(wrap(ds), ds, settings(undefined), NOW);
    expect(admitted).toHaveLength(500);
    expect(deferred).toEqual([]);
  });

  it('orders_per_3h caps the orders of this run per authority', () => {
    const ds = [
      ...Array.from({ length: 4 }, (_, i) => device(`le${i}`, `le${i}.example.com`)),
      ...Array.from({ length: 3 }, (_, i) =>
        device(`dc${i}`, `dc${i}.example.com`, [], { certificate_authority: 'digicert' }),
      ),
    ];
    const s = settings(
      { orders_per_3h: 2 },
      { digicert: { directory: 'https://acme.digicert.example', account_key_secret: 'DC_KEY' } },
    );
    const { admitted, deferred } = applyBudgets(wrap(ds), ds, s, NOW);
    expect(names(admitted)).toEqual(['le0', 'le1', 'dc0', 'dc1', 'dc2']);
    expect(deferred.map((d) => [d.candidate.device.system_name, d.reason])).toEqual([
      ['le2', 'orders_per_3h at lets_encrypt exhausted (2 of 2 planned in this run)'],
      ['le3', 'orders_per_3h at lets_encrypt exhausted (2 of 2 planned in this run)'],
    ]);
  });

  it('per-domain weekly budget counts certificates issued in the last 7 days (rotated_at, else not_before)', () => {
    const issued = (name: string, when: number, field: 'rotated_at' | 'not_before' = 'rotated_at') =>
      device(name, `${name}.example.com`, [], {
        certificate: { not_after: at(60 * DAY), [field]: at(when) },
      });
    const inventory = [
      issued('old1', -1 * DAY),
      issued('old2', -6 * DAY - 23 * HOUR, 'not_before'),
      issued('stale', -7 * DAY - HOUR), // outside the window
      issued('future', 2 * DAY), // not yet: not counted
      device('other-ca', 'x.example.com', [], {
        certificate_authority: 'zerossl',
        certificate: { not_after: at(60 * DAY), rotated_at: at(-DAY) },
      }),
    ];
    const wanted = [
      device('n1', 'n1.example.com'),
      device('n2', 'n2.example.com'),
      device('elsewhere', 'a.example.org'),
    ];
    const s = settings(
      { certificates_per_domain_per_week: 3 },
      { zerossl: { directory: 'https://acme.zerossl.example', account_key_secret: 'ZS_KEY' } },
    );
    const { admitted, deferred } = applyBudgets(wrap(wanted), [...inventory, ...wanted], s, NOW);
    expect(names(admitted)).toEqual(['n1', 'elsewhere']);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]!.reason).toBe(
      'certificates_per_domain_per_week for example.com at lets_encrypt exhausted (3 of 3 used or planned)',
    );
  });

  it('public suffixes: a.example.co.uk and b.example.co.uk share a budget; wildcard too', () => {
    const ds = [
      device('a', 'a.example.co.uk'),
      device('b', 'b.example.co.uk'),
      device('w', '*.x.example.co.uk'),
      device('c', 'c.other.co.uk'),
    ];
    const { admitted, deferred } = applyBudgets(
      wrap(ds),
      ds,
      settings({ certificates_per_domain_per_week: 2 }),
      NOW,
    );
    expect(names(admitted)).toEqual(['a', 'b', 'c']);
    expect(deferred[0]!.reason).toContain('for example.co.uk at lets_encrypt exhausted (2 of 2');
  });

  it('private suffixes follow tldts defaults (x.github.io and y.github.io share github.io)', () => {
    const ds = [device('x', 'x.github.io'), device('y', 'y.github.io')];
    const { admitted, deferred } = applyBudgets(
      wrap(ds),
      ds,
      settings({ certificates_per_domain_per_week: 1 }),
      NOW,
    );
    expect(names(admitted)).toEqual(['x']);
    expect(deferred[0]!.reason).toContain('for github.io at');
  });

  it('a certificate spanning domains needs room in each; a deferred one consumes nothing', () => {
    const ds = [
      device('first', 'a.one.com'),
      device('both', 'b.one.com', ['b.two.com', 'c.two.com']),
      device('second-two', 'x.two.com'),
    ];
    const { admitted, deferred } = applyBudgets(
      wrap(ds),
      ds,
      settings({ certificates_per_domain_per_week: 1 }),
      NOW,
    );
    // "both" is deferred because one.com is full, so two.com still has room for "second-two".
    expect(names(admitted)).toEqual(['first', 'second-two']);
    expect(deferred.map((d) => d.candidate.device.system_name)).toEqual(['both']);
    expect(deferred[0]!.reason).toContain('for one.com');
  });

  it('a multi-name certificate counts once per domain', () => {
    const budget = createRunBudget([], settings({ certificates_per_domain_per_week: 2 }), NOW);
    expect(budget.admit(device('a', 'a.example.com', ['b.example.com', 'c.example.com']))).toBeUndefined();
    expect(budget.admit(device('b', 'd.example.com'))).toBeUndefined();
    expect(budget.admit(device('c', 'e.example.com'))).toMatch(/2 of 2 used or planned/);
  });

  it('in a plan, budgets follow urgency order', () => {
    const ds = [
      device('later', 'later.example.com', [], {
        certificate: { not_after: at(DAY), not_before: at(-89 * DAY) },
      }),
      device('expired', 'expired.example.com', [], {
        certificate: { not_after: at(-DAY), not_before: at(-91 * DAY) },
      }),
      device('never', 'never.example.com'),
    ];
    const plan = buildPlan({
      candidates: ds.map((d) => ({
        device: d,
        file: `${d.system_name}.yaml`,
        route: { name: 'r', platform: 'linux' },
      })),
      excluded: [],
      settings: settings({ certificates_per_domain_per_week: 2 }),
      now: NOW,
    });
    expect(plan.due.map((d) => d.system_name)).toEqual(['expired', 'never']);
    expect(plan.deferred).toEqual([
      {
        system_name: 'later',
        file: 'later.yaml',
        reason:
          'certificates_per_domain_per_week for example.com at lets_encrypt exhausted (2 of 2 used or planned)',
      },
    ]);
  });
});
