import type { Device, Route, RouteMatch } from '../model/types.ts';

/** The outcome of routing one device: the rule that applies, or why none does. */
export type RouteResult = { matched: true; route: Route; index: number } | { matched: false; reason: string };

const SEGMENT = /^[a-z0-9][a-z0-9_+-]*$/;

/** Why an os_version pattern is invalid, or undefined. Exact (`9.1.0`) or `x` per dotted segment (`9.x`). */
export function osVersionPatternProblem(pattern: string): string | undefined {
  const segments = pattern.toLowerCase().split('.');
  for (const segment of segments) {
    if (segment === 'x') continue;
    if (segment === '') return `"${pattern}" has an empty segment; use versions like 10.2.4 or 10.x`;
    if (segment.includes('x') && /^[0-9x]+$/.test(segment)) {
      return `"${pattern}": x stands for a whole segment only (10.x, 10.2.x), not part of one ("${segment}")`;
    }
    if (!SEGMENT.test(segment)) return `"${pattern}" has an invalid segment "${segment}"`;
  }
  return undefined;
}

type VersionTest = (version: string) => boolean;

/**
 * Compiles a pattern once. A trailing `x` matches one or more remaining segments (`9.x` matches `9.1` and
 * `9.1.0`); an inner `x` matches exactly one; other segments compare exactly (`9.1` ≠ `9.1.0`).
 */
export function compileOsVersion(pattern: string): VersionTest {
  const want = pattern.toLowerCase().split('.');
  const trailingX = want[want.length - 1] === 'x';
  const fixed = trailingX ? want.slice(0, -1) : want;
  return (version) => {
    const have = version.toLowerCase().split('.');
    if (trailingX ? have.length <= fixed.length : have.length !== fixed.length) return false;
    for (let i = 0; i < fixed.length; i++) {
      if (fixed[i] !== 'x' && fixed[i] !== have[i]) return false;
    }
    return true;
  };
}

export function osVersionMatches(pattern: string, version: string): boolean {
  return compileOsVersion(pattern)(version);
}

interface CompiledRule {
  route: Route;
  index: number;
  os: VersionTest | undefined;
  models: Set<string> | undefined;
}

function mismatches(rule: CompiledRule, device: Device): string[] {
  const m: RouteMatch = rule.route.match;
  const out: string[] = [];
  if (m.host_platform !== undefined && m.host_platform !== device.host_platform)
    out.push(`host_platform ${m.host_platform}`);
  if (rule.os && !rule.os(device.os_version)) out.push(`os_version ${m.os_version}`);
  if (m.certificate_authority !== undefined && m.certificate_authority !== device.certificate_authority) {
    out.push(`certificate_authority ${m.certificate_authority}`);
  }
  if (m.data_center !== undefined && m.data_center !== device.data_center)
    out.push(`data_center ${m.data_center}`);
  if (rule.models && (device.device_model === undefined || !rule.models.has(device.device_model))) {
    out.push(`device_model one of ${[...rule.models].join(', ')}`);
  }
  return out;
}

/** Compiles the ordered rules into a matcher: first match wins; a miss explains the closest rule. */
export function compileRoutes(routes: readonly Route[]): (device: Device) => RouteResult {
  const rules: CompiledRule[] = routes.map((route, index) => ({
    route,
    index,
    os: route.match.os_version === undefined ? undefined : compileOsVersion(route.match.os_version),
    models: route.match.device_model === undefined ? undefined : new Set(route.match.device_model),
  }));
  return (device) => {
    let closest: { rule: CompiledRule; missing: string[] } | undefined;
    for (const rule of rules) {
      const missing = mismatches(rule, device);
      if (missing.length === 0) return { matched: true, route: rule.route, index: rule.index };
      if (!closest || missing.length < closest.missing.length) closest = { rule, missing };
    }
    const facts = [
      `host_platform=${device.host_platform}`,
      `os_version=${device.os_version}`,
      `certificate_authority=${device.certificate_authority}`,
      ...(device.device_model === undefined ? [] : [`device_model=${device.device_model}`]),
    ].join(', ');
    const hint = closest
      ? `; closest: rule "${closest.rule.route.name}" (#${closest.rule.index + 1}) needs ${closest.missing.join(' and ')}`
      : '; routing/routes.yaml has no rules';
    return { matched: false, reason: `no routing rule matches (${facts})${hint}` };
  };
}

export function matchRoute(device: Device, routes: readonly Route[]): RouteResult {
  return compileRoutes(routes)(device);
}
