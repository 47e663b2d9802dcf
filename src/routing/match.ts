/**
 * Routing: which rule of routing/routes.yaml (and so which platform driver) handles a device.
 * Pure. Rules are compiled once (`compileRoutes`) so that matching 100,000 devices costs a few string
 * comparisons each: no regular expressions, and a device's os_version is split once however many rules there are.
 */
import type { Device, Route } from '../model/types.ts';

/** The outcome of routing one device: the rule that applies, or why none does. */
export type RouteResult = { matched: true; route: Route; index: number } | { matched: false; reason: string };

/** A compiled rule list: first match wins; a miss explains the closest rule. */
export type RouteMatcher = (device: Device) => RouteResult;

const SEGMENT = /^[a-z0-9][a-z0-9_+()-]*$/;

/**
 * Why an os_version pattern is invalid, or undefined. Patterns are exact dotted versions (`9.1.0`, `10.2.4-h3`)
 * or use `x` as a whole dotted segment (`9.x`, `10.2.x`, `9.x.1`, `x`). Letters are compared case-insensitively.
 */
export function osVersionPatternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty; use a version like 10.2.4 or a pattern like 10.x';
  for (const segment of pattern.toLowerCase().split('.')) {
    if (segment === 'x') continue;
    if (segment === '') return `"${pattern}" has an empty segment; use versions like 10.2.4 or 10.x`;
    if (segment.includes('x') && /^[0-9x]+$/.test(segment)) {
      return `"${pattern}": x stands for a whole segment only (10.x, 10.2.x), not part of one ("${segment}")`;
    }
    if (!SEGMENT.test(segment)) {
      return `"${pattern}" has an invalid segment "${segment}" (letters, digits, _ + - ( ) between dots, or x)`;
    }
  }
  return undefined;
}

/** A pattern split once: `null` stands for an `x` segment. */
interface VersionPattern {
  segments: (string | null)[];
  /** A trailing `x`: matches one or more remaining segments. */
  open: boolean;
}

function compilePattern(pattern: string): VersionPattern {
  const all = pattern.toLowerCase().split('.');
  const open = all.length > 0 && all[all.length - 1] === 'x';
  const fixed = open ? all.slice(0, -1) : all;
  return { segments: fixed.map((s) => (s === 'x' ? null : s)), open };
}

/** `have` is the device's version, lowercased and split on dots. */
function patternMatches(p: VersionPattern, have: readonly string[]): boolean {
  const n = p.segments.length;
  if (p.open ? have.length <= n : have.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const want = p.segments[i];
    if (want !== null && want !== have[i]) return false;
  }
  return true;
}

/**
 * Compiles a pattern once. A trailing `x` matches one or more remaining segments (`9.x` matches `9.1` and
 * `9.1.0`, `10.2.x` does not match `10.2`); an inner `x` matches exactly one; other segments compare exactly
 * as strings (`9.1` ≠ `9.1.0`, `10.2.4` ≠ `10.2.40`).
 */
export function compileOsVersion(pattern: string): (version: string) => boolean {
  const p = compilePattern(pattern);
  return (version) => patternMatches(p, version.toLowerCase().split('.'));
}

export function osVersionMatches(pattern: string, version: string): boolean {
  return compileOsVersion(pattern)(version);
}

interface CompiledRule {
  route: Route;
  index: number;
  platform: string | undefined;
  authority: string | undefined;
  dataCenter: string | undefined;
  os: VersionPattern | undefined;
  models: Set<string> | undefined;
}

function compileRule(route: Route, index: number): CompiledRule {
  const m = route.match ?? {};
  return {
    route,
    index,
    platform: m.host_platform,
    authority: m.certificate_authority,
    dataCenter: m.data_center,
    os: m.os_version === undefined ? undefined : compilePattern(m.os_version),
    models: m.device_model === undefined ? undefined : new Set(m.device_model),
  };
}

function fits(rule: CompiledRule, device: Device, version: readonly string[]): boolean {
  if (rule.platform !== undefined && rule.platform !== device.host_platform) return false;
  if (rule.authority !== undefined && rule.authority !== device.certificate_authority) return false;
  if (rule.dataCenter !== undefined && rule.dataCenter !== device.data_center) return false;
  if (rule.models && (device.device_model === undefined || !rule.models.has(device.device_model)))
    return false;
  if (rule.os && !patternMatches(rule.os, version)) return false;
  return true;
}

type Field = 'host_platform' | 'os_version' | 'certificate_authority' | 'data_center' | 'device_model';

/** What the rule needs that the device lacks, in the order fields are shown. */
function mismatches(rule: CompiledRule, device: Device, version: readonly string[]): [Field, string][] {
  const out: [Field, string][] = [];
  const m = rule.route.match;
  if (rule.platform !== undefined && rule.platform !== device.host_platform) {
    out.push(['host_platform', `host_platform ${rule.platform}`]);
  }
  if (rule.os && !patternMatches(rule.os, version)) out.push(['os_version', `os_version ${m.os_version}`]);
  if (rule.authority !== undefined && rule.authority !== device.certificate_authority) {
    out.push(['certificate_authority', `certificate_authority ${rule.authority}`]);
  }
  if (rule.dataCenter !== undefined && rule.dataCenter !== device.data_center) {
    out.push(['data_center', `data_center ${rule.dataCenter}`]);
  }
  if (rule.models && (device.device_model === undefined || !rule.models.has(device.device_model))) {
    out.push(['device_model', `device_model one of ${[...rule.models].join(', ')}`]);
  }
  return out;
}

function joinAnd(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

function explain(rules: readonly CompiledRule[], device: Device, version: readonly string[]): string {
  let closest: { rule: CompiledRule; missing: [Field, string][] } | undefined;
  for (const rule of rules) {
    const missing = mismatches(rule, device, version);
    if (!closest || missing.length < closest.missing.length) closest = { rule, missing };
  }
  const facts = [
    `host_platform=${device.host_platform}`,
    `os_version=${device.os_version}`,
    `certificate_authority=${device.certificate_authority}`,
  ];
  const missingFields = new Set(closest?.missing.map(([field]) => field));
  if (missingFields.has('data_center')) facts.push(`data_center=${device.data_center}`);
  if (device.device_model !== undefined) facts.push(`device_model=${device.device_model}`);
  else if (missingFields.has('device_model')) facts.push('no device_model');
  const hint = closest
    ? `; closest: rule "${closest.rule.route.name}" (#${closest.rule.index + 1}) needs ${joinAnd(closest.missing.map(([, text]) => text))}`
    : '; routing/routes.yaml has no rules';
  return `no routing rule matches (${facts.join(', ')})${hint}`;
}

/**
 * Compiles the ordered rules into a matcher. The first rule whose every `match` field fits wins; when none
 * does, the reason names the rule with the fewest mismatching fields (the earliest on a tie) and all of them.
 */
export function compileRoutes(routes: readonly Route[]): RouteMatcher {
  const rules = routes.map(compileRule);
  return (device) => {
    const version = String(device.os_version ?? '')
      .toLowerCase()
      .split('.');
    for (const rule of rules) {
      if (fits(rule, device, version)) return { matched: true, route: rule.route, index: rule.index };
    }
    return { matched: false, reason: explain(rules, device, version) };
  };
}

/** One device against the rules. For many devices, compile once with `compileRoutes`. */
export function matchRoute(device: Device, routes: readonly Route[]): RouteResult {
  return compileRoutes(routes)(device);
}
