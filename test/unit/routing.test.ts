import { describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import {
  compileOsVersion,
  compileRoutes,
  matchRoute,
  osVersionMatches,
  osVersionPatternProblem,
} from '../../src/routing/match.ts';

describe('os_version patterns', () => {
  it.each([
    // exact: segment by segment, as strings
    ['9.1.0', '9.1.0', true],
    ['9.1.0', '9.1.1', false],
    ['9.1', '9.1.0', false],
    ['9.1.0', '9.1', false],
    ['10.2.4', '10.2.40', false],
    ['10.2.40', '10.2.4', false],
    ['10.2.4', '10.2.4-h3', false],
    ['10.2.4-h3', '10.2.4-h3', true],
    ['10.2.4-h3', '10.2.4-h31', false],
    ['10.2.4-H3', '10.2.4-h3', true],
    ['10.2.4-h3', '10.2.4-H3', true],
    ['9', '9', true],
    ['9', '9.0', false],
    ['09.1', '9.1', false],
    ['20.04', '20.04', true],
    ['20.04', '20.4', false],
    // trailing x: one or more remaining segments
    ['9.x', '9.1.0', true],
    ['9.x', '9.1', true],
    ['9.x', '9.1.0.5', true],
    ['9.x', '9', false],
    ['9.x', '10.1.0', false],
    ['9.x', '19.1.0', false],
    ['9.x', '9x.1', false],
    ['9.X', '9.1.0', true],
    ['10.2.x', '10.2.4', true],
    ['10.2.x', '10.2.4-h3', true],
    ['10.2.x', '10.2.4.1', true],
    ['10.2.x', '10.3.0', false],
    ['10.2.x', '10.2', false],
    ['10.2.x', '10.20.1', false],
    ['x', '23.10.2', true],
    ['x', '7', true],
    ['21.Q2.x', '21.q2.0', true],
    ['21.q2.x', '21.Q2.1', true],
    // inner x: exactly one segment
    ['9.x.1', '9.5.1', true],
    ['9.x.1', '9.15.1', true],
    ['9.x.1', '9.5.2', false],
    ['9.x.1', '9.5.1.0', false],
    ['9.x.1', '9.1', false],
    ['x.1.x', '3.1.4', true],
    ['x.1.x', '3.2.4', false],
    ['x.x', '1.2', true],
    ['x.x', '1', false],
  ])('%s vs %s → %s', (pattern, version, expected) => {
    expect(osVersionPatternProblem(pattern)).toBeUndefined();
    expect(osVersionMatches(pattern, version)).toBe(expected);
    expect(compileOsVersion(pattern)(version)).toBe(expected);
  });

  it.each([
    ['1x.2', /whole segment/],
    ['9.x1', /whole segment/],
    ['9.xx', /whole segment/],
    ['10..2', /empty segment/],
    ['10.2.', /empty segment/],
    ['.10', /empty segment/],
    ['', /empty/],
    ['  ', /empty/],
    ['10.*', /invalid segment "\*"/],
    ['10 2', /invalid segment/],
    ['9.3[8]', /invalid segment/],
    ['-1.2', /invalid segment/],
  ])('rejects %j', (pattern, message) => {
    expect(osVersionPatternProblem(pattern)).toMatch(message);
  });

  it.each([
    '9.1.0',
    '10.2.4-h3',
    '9.x',
    '10.2.x',
    'x',
    '9.x.1',
    '21.Q2.0',
    '7.0_rc1',
    '1.2+build',
  ])('accepts %s', (pattern) => {
    expect(osVersionPatternProblem(pattern)).toBeUndefined();
  });
});

const device = (fields: Partial<Device> = {}): Device => ({
  system_name: 'fw1',
  common_name: 'fw1.example.com',
  host_platform: 'panos',
  os_version: '10.2.4',
  data_center: 'sfo1',
  certificate_authority: 'lets_encrypt',
  ...fields,
});

const ROUTES: Route[] = [
  {
    name: 'panos-10-big',
    match: { host_platform: 'panos', os_version: '10.x', device_model: ['PA-5250', 'PA-7080'] },
    platform: 'panos',
  },
  { name: 'panos-10', match: { host_platform: 'panos', os_version: '10.x' }, platform: 'panos' },
  { name: 'linux-ams2', match: { host_platform: 'linux', data_center: 'ams2' }, platform: 'linux-ssm' },
  { name: 'linux', match: { host_platform: 'linux' }, platform: 'linux-ssh' },
  { name: 'corp', match: { certificate_authority: 'corp_ca' }, platform: 'lighthouse' },
];

describe('matchRoute', () => {
  it('takes the first rule that fits', () => {
    expect(matchRoute(device({ device_model: 'PA-5250' }), ROUTES)).toMatchObject({
      matched: true,
      index: 0,
      route: { name: 'panos-10-big' },
    });
    expect(matchRoute(device({ device_model: 'PA-7080' }), ROUTES)).toMatchObject({ index: 0 });
    expect(matchRoute(device({ device_model: 'PA-3220' }), ROUTES)).toMatchObject({
      matched: true,
      index: 1,
    });
    expect(matchRoute(device(), ROUTES)).toMatchObject({ matched: true, route: { name: 'panos-10' } });
    // the same rules in the other order: the general rule now wins for every model
    const reversed = [ROUTES[1]!, ROUTES[0]!];
    expect(matchRoute(device({ device_model: 'PA-5250' }), reversed)).toMatchObject({
      route: { name: 'panos-10' },
    });
  });

  it('matches host_platform, certificate_authority and data_center exactly, case-sensitively', () => {
    expect(matchRoute(device({ host_platform: 'linux', data_center: 'ams2' }), ROUTES)).toMatchObject({
      index: 2,
    });
    expect(matchRoute(device({ host_platform: 'linux', data_center: 'AMS2' }), ROUTES)).toMatchObject({
      index: 3,
    });
    expect(matchRoute(device({ host_platform: 'Linux' }), ROUTES).matched).toBe(false);
    expect(
      matchRoute(device({ host_platform: 'f5', certificate_authority: 'corp_ca' }), ROUTES),
    ).toMatchObject({ index: 4 });
    expect(
      matchRoute(device({ host_platform: 'f5', certificate_authority: 'CORP_CA' }), ROUTES).matched,
    ).toBe(false);
  });

  it('needs the device to have one of the listed models', () => {
    const only = compileRoutes([ROUTES[0]!]);
    expect(only(device()).matched).toBe(false); // no device_model at all
    expect(only(device({ device_model: 'PA-3220' })).matched).toBe(false);
    expect(only(device({ device_model: 'pa-5250' })).matched).toBe(false);
    expect(only(device({ device_model: 'PA-5250' })).matched).toBe(true);
  });

  it('treats a rule with an empty match as a catch-all', () => {
    const all = compileRoutes([{ name: 'all', match: {}, platform: 'linux-ssh' }]);
    expect(all(device({ host_platform: 'anything', os_version: '1' }))).toMatchObject({ matched: true });
  });

  it('compiles once and matches many devices', () => {
    const match = compileRoutes(ROUTES);
    const results = Array.from({ length: 1000 }, (_, i) =>
      match(device({ os_version: `${9 + (i % 3)}.${i % 7}.0` })),
    );
    expect(results.filter((r) => r.matched)).toHaveLength(333); // only 10.*
  });
});

describe('the reason for a miss', () => {
  const reason = (d: Device, routes: Route[] = ROUTES) => {
    const result = matchRoute(d, routes);
    if (result.matched) throw new Error(`matched ${result.route.name}`);
    return result.reason;
  };

  it('names the device, the closest rule (1-based) and what it needs', () => {
    expect(reason(device({ os_version: '9.1.0' }))).toBe(
      'no routing rule matches (host_platform=panos, os_version=9.1.0, certificate_authority=lets_encrypt); closest: rule "panos-10" (#2) needs os_version 10.x',
    );
  });

  it('lists every mismatch of the closest rule', () => {
    const routes: Route[] = [
      { name: 'f5', match: { host_platform: 'f5', os_version: '14.x', data_center: 'ams2' }, platform: 'f5' },
    ];
    expect(reason(device(), routes)).toBe(
      'no routing rule matches (host_platform=panos, os_version=10.2.4, certificate_authority=lets_encrypt, data_center=sfo1); closest: rule "f5" (#1) needs host_platform f5, os_version 14.x and data_center ams2',
    );
  });

  it('prefers the rule with the fewest mismatches, the earliest on a tie', () => {
    const routes: Route[] = [
      { name: 'a', match: { host_platform: 'f5', certificate_authority: 'corp_ca' }, platform: 'f5' },
      { name: 'b', match: { host_platform: 'panos', os_version: '11.x' }, platform: 'panos' },
      { name: 'c', match: { host_platform: 'panos', certificate_authority: 'corp_ca' }, platform: 'panos' },
    ];
    expect(reason(device(), routes)).toMatch(/closest: rule "b" \(#2\) needs os_version 11\.x$/);
  });

  it('explains a missing or wrong model', () => {
    expect(reason(device(), [ROUTES[0]!])).toBe(
      'no routing rule matches (host_platform=panos, os_version=10.2.4, certificate_authority=lets_encrypt, no device_model); closest: rule "panos-10-big" (#1) needs device_model one of PA-5250, PA-7080',
    );
    expect(reason(device({ device_model: 'PA-220' }), [ROUTES[0]!])).toMatch(
      /device_model=PA-220\); closest: .* needs device_model one of PA-5250, PA-7080$/,
    );
  });

  it('says when there are no rules at all', () => {
    expect(reason(device(), [])).toMatch(/has no rules/);
  });
});

describe('versions with parentheses (NX-OS style)', () => {
  it('matches 9.3(8) exactly and by 9.x', () => {
    expect(osVersionPatternProblem('9.3(8)')).toBeUndefined();
    expect(osVersionMatches('9.3(8)', '9.3(8)')).toBe(true);
    expect(osVersionMatches('9.x', '9.3(8)')).toBe(true);
    expect(osVersionMatches('9.3(8)', '9.3(9)')).toBe(false);
  });
});
