import { describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import {
  compileRoutes,
  matchRoute,
  osVersionMatches,
  osVersionPatternProblem,
} from '../../src/routing/match.ts';

describe('os_version patterns', () => {
  it.each([
    ['9.1.0', '9.1.0', true],
    ['9.1.0', '9.1.1', false],
    ['9.1', '9.1.0', false],
    ['10.2.4', '10.2.40', false],
    ['9.x', '9.1.0', true],
    ['9.x', '9.1', true],
    ['9.x', '9', false],
    ['9.x', '10.1.0', false],
    ['10.2.x', '10.2.4', true],
    ['10.2.x', '10.2.4-h3', true],
    ['10.2.x', '10.3.0', false],
    ['10.2.x', '10.2', false],
    ['9.x.1', '9.5.1', true],
    ['9.x.1', '9.5.2', false],
    ['9.x.1', '9.5.1.0', false],
    ['x', '23.10.2', true],
    ['21.Q2.x', '21.q2.0', true],
    ['10.2.4-H3', '10.2.4-h3', true],
  ])('%s vs %s → %s', (pattern, version, expected) => {
    expect(osVersionPatternProblem(pattern)).toBeUndefined();
    expect(osVersionMatches(pattern, version)).toBe(expected);
  });

  it.each([
    ['1x.2', /whole segment/],
    ['10..2', /empty segment/],
    ['10.2.', /empty segment/],
    ['10.*', /invalid segment/],
    ['10 2', /invalid segment/],
  ])('rejects %s', (pattern, message) => {
    expect(osVersionPatternProblem(pattern)).toMatch(message);
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
    match: { host_platform: 'panos', os_version: '10.x', device_model: ['PA-5250'] },
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
    });
    expect(matchRoute(device({ device_model: 'PA-3220' }), ROUTES)).toMatchObject({
      matched: true,
      index: 1,
    });
    expect(matchRoute(device(), ROUTES)).toMatchObject({ matched: true, route: { name: 'panos-10' } });
  });

  it('matches data_center and certificate_authority exactly', () => {
    expect(matchRoute(device({ host_platform: 'linux', data_center: 'ams2' }), ROUTES)).toMatchObject({
      index: 2,
    });
    expect(matchRoute(device({ host_platform: 'linux', data_center: 'AMS2' }), ROUTES)).toMatchObject({
      index: 3,
    });
    expect(
      matchRoute(device({ host_platform: 'f5', certificate_authority: 'corp_ca' }), ROUTES),
    ).toMatchObject({ index: 4 });
  });

  it('explains a miss with the closest rule and every field it needs', () => {
    const result = matchRoute(device({ os_version: '9.1.0' }), ROUTES);
    expect(result.matched).toBe(false);
    if (result.matched) return;
    expect(result.reason).toBe(
      'no routing rule matches (host_platform=panos, os_version=9.1.0, certificate_authority=lets_encrypt); closest: rule "panos-10" (#2) needs os_version 10.x',
    );
    const model = compileRoutes([ROUTES[0]!])(device({ device_model: 'PA-220' }));
    expect(!model.matched && model.reason).toMatch(/needs device_model one of PA-5250/);
    const none = compileRoutes([])(device());
    expect(!none.matched && none.reason).toMatch(/has no rules/);
  });

  it('does not match a model list when the device has no model', () => {
    expect(compileRoutes([ROUTES[0]!])(device()).matched).toBe(false);
  });
});
